#!/usr/bin/python3
"""Check PutMetricData form bodies against botocore's own CloudWatch model.

Reads a JSON array of raw application/x-www-form-urlencoded request bodies
on stdin and writes a JSON array of {"ok": bool, "errors": [str]} on stdout,
one per body, in order.

Each body is decoded into the PutMetricData input shape the way the Query
protocol lays it out (Parent.Child for structures, Name.member.N for lists,
N from 1 without gaps), its values converted by the shape's types (double
and integer from decimal notation only, timestamp from ISO 8601), and
checked with botocore.validate.validate_parameters. Enums, which that does
not check, are checked here. A parameter with no place in the shape is an
error; Action and Version must name the operation and the model's API
version; signature parameters (SigV2 in a POST body) are not input and are
skipped. Values that do not convert are passed on as the strings they are,
so that botocore reports them with its own words.

Exit status 3 (with a message on stderr) when botocore cannot be imported.
"""
import datetime
import json
import re
import sys
import urllib.parse

try:
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters
except ImportError as exc:  # pragma: no cover - reported by the test
    sys.stderr.write('cannot import botocore with %s: %s\n' % (sys.executable, exc))
    sys.exit(3)

OPERATION = 'PutMetricData'
SIGNATURE_PARAMS = {'AWSAccessKeyId', 'Signature', 'SignatureMethod', 'SignatureVersion', 'Timestamp', 'SecurityToken'}
DECIMAL = re.compile(r'[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z')
INTEGER = re.compile(r'[+-]?\d+\Z')
ISO8601 = re.compile(r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?\Z')
MISSING = object()


def is_signature_param(name):
    return name in SIGNATURE_PARAMS or name.startswith('X-Amz-')


def parse_iso8601(text):
    """datetime of an ISO 8601 text, fractions of any length up to nanoseconds."""
    main, _, rest = text.partition('.')
    zone = ''
    if rest:
        digits = re.match(r'\d+', rest).group(0)
        zone = rest[len(digits):]
        main += '.' + digits[:6].ljust(6, '0')
    else:
        match = re.search(r'(Z|[+-]\d{2}:\d{2})\Z', main)
        if match:
            zone, main = match.group(0), main[:match.start()]
    return datetime.datetime.fromisoformat(main + ('+00:00' if zone == 'Z' else zone))


class Decoder:
    """Query parameters into a value of a shape; what it reads is marked used."""

    def __init__(self, params):
        self.params = params
        self.used = set()
        self.errors = []

    def decode(self, shape, key, label):
        kind = shape.type_name
        if kind == 'structure':
            return self.structure(shape, key, label)
        if kind == 'list':
            return self.list(shape, key, label)
        if kind == 'map':
            raise ValueError('%s: map shapes are not decoded (PutMetricData has none)' % label)
        if key not in self.params:
            return MISSING
        self.used.add(key)
        return self.scalar(shape, self.params[key], key, label)

    def structure(self, shape, prefix, label):
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get('name', name)
            value = self.decode(member, '%s.%s' % (prefix, wire) if prefix else wire, '%s.%s' % (label, name) if label else name)
            if value is not MISSING:
                out[name] = value
        # A nested structure none of whose fields were sent was not sent.
        return out if out or not prefix else MISSING

    def list(self, shape, prefix, label):
        if self.params.get(prefix) == '':
            # The Query protocol's empty list: the name with an empty value.
            self.used.add(prefix)
            return []
        base = prefix if shape.serialization.get('flattened') else '%s.%s' % (prefix, shape.member.serialization.get('name', 'member'))
        pattern = re.compile(re.escape(base) + r'\.([1-9]\d*)(\.|\Z)')
        indices = sorted({int(m.group(1)) for m in map(pattern.match, self.params) if m})
        if not indices:
            return MISSING
        if indices != list(range(1, len(indices) + 1)):
            self.errors.append('%s: members numbered %s, not 1 to %d' % (base, indices, len(indices)))
        items = []
        for i in indices:
            value = self.decode(shape.member, '%s.%d' % (base, i), '%s[%d]' % (label, len(items)))
            if value is not MISSING:
                items.append(value)
        return items

    def scalar(self, shape, text, key, label):
        kind = shape.type_name
        if kind in ('double', 'float'):
            return float(text) if DECIMAL.match(text) else text
        if kind in ('integer', 'long'):
            return int(text) if INTEGER.match(text) else text
        if kind == 'boolean':
            return {'true': True, 'false': False}.get(text, text)
        if kind == 'timestamp':
            if ISO8601.match(text):
                return parse_iso8601(text)
            self.errors.append('%s (%s): %r is not an ISO 8601 timestamp, the form the Query protocol sends' % (label, key, text))
            return MISSING
        return text


def enum_errors(value, shape, label):
    kind = shape.type_name
    if kind == 'structure' and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from enum_errors(value[name], member, '%s.%s' % (label, name) if label else name)
    elif kind == 'list' and isinstance(value, list):
        for i, item in enumerate(value):
            yield from enum_errors(item, shape.member, '%s[%d]' % (label, i))
    elif kind == 'string' and shape.enum and isinstance(value, str) and value not in shape.enum:
        yield 'Invalid value for parameter %s, value: %s, valid values (%s): %s' % (label, value, shape.name, ', '.join(shape.enum))


def check(body, operation, api_version):
    try:
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True, encoding='utf-8', errors='strict')
    except ValueError as exc:
        return ['malformed form body: %s' % exc]
    errors = []
    params = {}
    for name, value in pairs:
        if name in params:
            errors.append('parameter %s sent more than once' % name)
        params[name] = value
    action = params.pop('Action', None)
    version = params.pop('Version', None)
    if action != operation.name:
        errors.append('Action is %r, not %r' % (action, operation.name))
    if version != api_version:
        errors.append('Version is %r, not %r' % (version, api_version))
    for name in [n for n in params if is_signature_param(n)]:
        del params[name]
    shape = operation.input_shape
    decoder = Decoder(params)
    value = decoder.structure(shape, '', '')
    errors += decoder.errors
    errors += ['unknown parameter %s: it has no place in the %s shape' % (n, shape.name) for n in sorted(set(params) - decoder.used)]
    try:
        validate_parameters(value, shape)
    except ParamValidationError as exc:
        report = exc.kwargs.get('report', str(exc))
        errors += [line for line in report.splitlines() if line.strip()]
    errors += enum_errors(value, shape, '')
    return errors


def main():
    bodies = json.load(sys.stdin)
    model = botocore.session.get_session().get_service_model('cloudwatch')
    operation = model.operation_model(OPERATION)
    results = []
    for body in bodies:
        errors = check(body, operation, model.api_version)
        results.append({'ok': not errors, 'errors': errors})
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
