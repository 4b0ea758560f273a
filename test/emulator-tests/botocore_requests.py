#!/usr/bin/python3
"""Sign requests with the real botocore (Debian python3-botocore) for the
emulator's signature-verification tests; node sends them.

stdin:  {"cases": [{"name", "mode": "v4" | "v4-query" | "v2", "method",
          "url" (no query), "params": {name: value}, "accessKey",
          "secretKey", "token" (or null), "region", "service"}, ...]}
stdout: {"botocore": version, "requests": [{"name", "method", "url",
          "headers": {name: value}, "body": base64}, ...]}
GET parameters go in the query string, POST parameters in a form body.
Exit status 3 when botocore cannot be imported.
"""
import base64
import json
import sys

try:
    import botocore
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as exc:
    sys.stderr.write('cannot import botocore with %s: %s\n' % (sys.executable, exc))
    sys.exit(3)

FORM = 'application/x-www-form-urlencoded; charset=utf-8'


def sign(case):
    creds = Credentials(case['accessKey'], case['secretKey'], case.get('token'))
    method = case['method']
    if method == 'POST':
        request = AWSRequest(method=method, url=case['url'], data=dict(case['params']), headers={'Content-Type': FORM})
    else:
        request = AWSRequest(method=method, url=case['url'], params=dict(case['params']))
    mode = case['mode']
    if mode == 'v4':
        botocore.auth.SigV4Auth(creds, case['service'], case['region']).add_auth(request)
    elif mode == 'v4-query':
        botocore.auth.SigV4QueryAuth(creds, case['service'], case['region'], expires=300).add_auth(request)
    elif mode == 'v2':
        botocore.auth.SigV2Auth(creds).add_auth(request)
    else:
        raise ValueError('unknown mode %r' % mode)
    prepared = request.prepare()
    body = prepared.body or b''
    if isinstance(body, str):
        body = body.encode('utf-8')
    return {
        'name': case['name'],
        'method': prepared.method,
        'url': prepared.url,
        'headers': {k: (v.decode('utf-8') if isinstance(v, bytes) else v) for k, v in prepared.headers.items()},
        'body': base64.b64encode(body).decode('ascii'),
    }


def main():
    doc = json.load(sys.stdin)
    out = {'botocore': botocore.__version__, 'requests': [sign(c) for c in doc['cases']]}
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
