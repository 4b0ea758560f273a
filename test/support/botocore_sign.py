#!/usr/bin/python3
"""Sign a batch of requests with the real botocore, for differential tests.

Reads one JSON document on stdin:
  {"time": "YYYYMMDDTHHMMSSZ", "cases": [case, ...]}
each case:
  {"mode": "v4" | "v4-query" | "v2",
   "method", "url" (no query), "params": [[name, value], ...] (decoded),
   "headers": {name: value}, "body": base64 or null,
   "accessKey", "secretKey", "token" (or null), "region", "service",
   "expires" (v4-query)}
and writes {"results": [...]} on stdout, one result per case, in order.
Exit status 3 (with a message on stderr) when botocore cannot be imported.
"""
import base64
import datetime
import json
import sys
import types

try:
    import botocore
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as exc:  # pragma: no cover - reported by the test
    sys.stderr.write('cannot import botocore with %s: %s\n' % (sys.executable, exc))
    sys.exit(3)


def fix_clock(stamp):
    fixed = datetime.datetime.strptime(stamp, '%Y%m%dT%H%M%SZ')

    class FixedDateTime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

    # botocore 1.29 (Debian) reads datetime.datetime.utcnow() through the
    # module global `datetime` of botocore.auth; newer ones call
    # get_current_datetime(). Replace only those references.
    botocore.auth.datetime = types.SimpleNamespace(datetime=FixedDateTime)
    if hasattr(botocore.auth, 'get_current_datetime'):
        botocore.auth.get_current_datetime = lambda *args, **kwargs: fixed


def capturing(cls):
    class Capturing(cls):
        canonical = None

        def canonical_request(self, request):
            self.canonical = super().canonical_request(request)
            return self.canonical

    return Capturing


def request_for(case):
    body = base64.b64decode(case['body']) if case.get('body') is not None else b''
    params = [tuple(p) for p in case.get('params') or []]
    return AWSRequest(method=case['method'], url=case['url'], headers=case.get('headers') or {},
                      data=body, params=params)


def sign_v4(case, creds):
    s3 = case['service'] == 's3'
    cls = capturing(botocore.auth.S3SigV4Auth if s3 else botocore.auth.SigV4Auth)
    signer = cls(creds, case['service'], case['region'])
    req = request_for(case)
    signer.add_auth(req)
    return {
        'authorization': req.headers.get('Authorization'),
        'amzDate': req.headers.get('X-Amz-Date'),
        'token': req.headers.get('X-Amz-Security-Token'),
        'contentSha256': req.headers.get('X-Amz-Content-SHA256'),
        'canonical': signer.canonical,
    }


def sign_v4_query(case, creds):
    s3 = case['service'] == 's3'
    cls = capturing(botocore.auth.S3SigV4QueryAuth if s3 else botocore.auth.SigV4QueryAuth)
    signer = cls(creds, case['service'], case['region'], expires=case['expires'])
    req = request_for(case)
    # SigV4QueryAuth merges request.params as a dict (it cannot carry repeats).
    req.params = dict(req.params)
    signer.add_auth(req)
    return {'url': req.url, 'canonical': signer.canonical}


def sign_v2(case, creds):
    signer = botocore.auth.SigV2Auth(creds)
    req = request_for(case)
    qs, signature = signer.calc_signature(req, dict(case['params']))
    return {'signature': signature, 'canonicalQuery': qs}


def main():
    batch = json.load(sys.stdin)
    fix_clock(batch['time'])
    results = []
    for case in batch['cases']:
        creds = Credentials(case['accessKey'], case['secretKey'], case.get('token'))
        mode = case['mode']
        if mode == 'v4':
            results.append(sign_v4(case, creds))
        elif mode == 'v4-query':
            results.append(sign_v4_query(case, creds))
        elif mode == 'v2':
            results.append(sign_v2(case, creds))
        else:
            raise ValueError('unknown mode %r' % mode)
    json.dump({'botocore': botocore.__version__, 'results': results}, sys.stdout)


if __name__ == '__main__':
    main()
