import * as assert from 'node:assert/strict';
import { excerpt, parseAwsError } from '../../shared/aws-error';

describe('parseAwsError', () => {
  it('reads the Query API ErrorResponse (Heat heat-api-cfn, section 4a)', () => {
    const body =
      '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>A bad or out-of-range value was supplied</Message></Error></ErrorResponse>';
    assert.deepEqual(parseAwsError(400, 'application/xml; charset=UTF-8', body), {
      code: 'InvalidParameterValue',
      message: 'A bad or out-of-range value was supplied',
      type: 'Sender',
    });
    const server =
      '<ErrorResponse><Error><Type>Server</Type><Code>InternalFailure</Code><Message>The request processing has failed due to an internal error</Message></Error></ErrorResponse>';
    assert.deepEqual(parseAwsError(500, 'application/xml', server), {
      code: 'InternalFailure',
      message: 'The request processing has failed due to an internal error',
      type: 'Server',
    });
  });

  it('reads AWS ErrorResponse with a namespace, entities and a RequestId', () => {
    const body =
      '<?xml version="1.0"?>\n<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">\n  <Error>\n    <Type>Sender</Type>\n    <Code>Throttling</Code>\n    <Message>Rate exceeded &amp; more</Message>\n  </Error>\n  <RequestId>abc</RequestId>\n</ErrorResponse>';
    assert.deepEqual(parseAwsError(400, 'text/xml', body), { code: 'Throttling', message: 'Rate exceeded & more', type: 'Sender' });
  });

  it('reads the keystone auth failure Heat maps to 403 AccessDenied (section 4b)', () => {
    const body =
      '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform action</Message></Error></ErrorResponse>';
    assert.equal(parseAwsError(403, 'application/xml', body).code, 'AccessDenied');
    const sig =
      '<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Signature expired: 20261124T130000Z is now earlier than 20261124T135500Z</Message></Error></ErrorResponse>';
    assert.deepEqual(parseAwsError(403, undefined, sig), {
      code: 'SignatureDoesNotMatch',
      message: 'Signature expired: 20261124T130000Z is now earlier than 20261124T135500Z',
      type: 'Sender',
    });
  });

  it('reads EC2-style <Response><Errors><Error> and S3 bare <Error>', () => {
    const ec2 =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>';
    assert.deepEqual(parseAwsError(503, 'text/xml;charset=UTF-8', ec2), { code: 'RequestLimitExceeded', message: 'Request limit exceeded.' });
    const s3 = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>';
    assert.deepEqual(parseAwsError(503, 'application/xml', s3), { code: 'SlowDown', message: 'Please reduce your request rate.' });
    const noMessage = '<Error><Code>NoSuchKey</Code></Error>';
    assert.deepEqual(parseAwsError(404, 'application/xml', noMessage), { code: 'NoSuchKey', message: '' });
  });

  it('reads JSON error shapes', () => {
    assert.deepEqual(parseAwsError(400, 'application/json', '{"Error":{"Code":"ValidationError","Message":"Stack does not exist","Type":"Sender"}}'), {
      code: 'ValidationError',
      message: 'Stack does not exist',
      type: 'Sender',
    });
    assert.deepEqual(parseAwsError(400, 'application/x-amz-json-1.1', '{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}'), {
      code: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    assert.deepEqual(parseAwsError(400, 'application/json', '{"__type":"ValidationException:http://internal.amazon.com/coral/","Message":"bad"}'), {
      code: 'ValidationException',
      message: 'bad',
    });
    // keystone / Heat native API
    assert.deepEqual(parseAwsError(401, 'application/json', '{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}'), {
      code: 'Unauthorized',
      message: 'The request you have made requires authentication.',
    });
    assert.deepEqual(parseAwsError(400, 'application/json', '{"explanation": "x", "code": 400, "error": {"message": "Stack not found", "type": "EntityNotFound"}, "title": "Bad Request"}'), {
      code: 'EntityNotFound',
      message: 'Stack not found',
    });
  });

  it("maps Heat's bare JSON string bodies back to their codes (section 4a)", () => {
    assert.deepEqual(parseAwsError(200, 'application/json', '"User is not authorized to perform action"'), {
      code: 'AccessDenied',
      message: 'User is not authorized to perform action',
      type: 'Sender',
    });
    assert.deepEqual(parseAwsError(200, 'application/json', '"A bad or out-of-range value was supplied"'), {
      code: 'InvalidParameterValue',
      message: 'A bad or out-of-range value was supplied',
      type: 'Sender',
    });
    assert.deepEqual(parseAwsError(200, 'application/json', '"The request processing has failed due to an internal error"'), {
      code: 'InternalFailure',
      message: 'The request processing has failed due to an internal error',
      type: 'Server',
    });
    assert.deepEqual(parseAwsError(400, 'application/json', '"Something Heat never says"'), { code: 'HTTP400', message: 'Something Heat never says' });
  });

  it('falls back to HTTP<status> with a trimmed one-line excerpt for text and HTML', () => {
    assert.deepEqual(parseAwsError(404, 'text/plain; charset=UTF-8', '404 Not Found\n\nThe resource could not be found.\n\n   '), {
      code: 'HTTP404',
      message: '404 Not Found The resource could not be found.',
    });
    const html = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{}</style></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
    assert.deepEqual(parseAwsError(502, 'text/html', html), { code: 'HTTP502', message: '502 Bad Gateway nginx' });
    assert.deepEqual(parseAwsError(503, 'text/html', ''), { code: 'HTTP503', message: 'Service Unavailable' });
    assert.deepEqual(parseAwsError(500, 'application/json', '{"Error": '), { code: 'HTTP500', message: '{"Error":' });
    assert.deepEqual(parseAwsError(500, 'application/xml', '<resource>WaitHandle</resource>'), { code: 'HTTP500', message: 'WaitHandle' });
    const long = parseAwsError(500, 'text/plain', 'x'.repeat(5000)).message;
    assert.equal(long.length, 200);
    assert.ok(long.endsWith('…'));
  });

  it('excerpt collapses whitespace and bounds length', () => {
    assert.equal(excerpt('  a\n\tb  '), 'a b');
    assert.equal(excerpt('abcdef', 4), 'abc…');
  });
});
