import { status } from '@grpc/grpc-js';
import { ValueChecker } from './value-check';

describe('the proposer\'s value check', () => {
  const checker = new ValueChecker(1024, () => undefined);
  const value = (bytes: number) => ({ contentType: 'text/plain', data: Buffer.alloc(bytes) });

  it('measures a value as the core does: data, client_request_id and content_type together', () => {
    // 1,024 data bytes alone would pass a data-only check, then be refused by the core.
    expect(() => checker.check('id', value(1024))).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT }));
    expect(() => checker.check('id', value(1024 - 'id'.length - 'text/plain'.length + 1))).toThrow(/the limit is 1024/);
    expect(checker.check('id', value(1024 - 'id'.length - 'text/plain'.length)).data.length).toBe(1012);
  });

  it('refuses a content type that is not a media type', () => {
    expect(() => checker.check('id', { contentType: 'plain', data: Buffer.from('x') })).toThrow(/not a media type/);
  });

  it('refuses an id that was not valid UTF-8 on the wire: two such ids would decode alike', () => {
    const decoded = (bytes: number[]) => Buffer.from(bytes).toString('utf8');
    expect(decoded([0x68, 0xff, 0x22])).toBe(decoded([0x68, 0xfe, 0x22]));
    expect(() => checker.check(decoded([0x68, 0xff, 0x22]), value(1))).toThrow(expect.objectContaining({ code: status.INVALID_ARGUMENT, message: expect.stringMatching(/not valid UTF-8/) }));
    expect(checker.check('h\u00e9-\u{1F600}', value(1)).clientRequestId).toBe('h\u00e9-\u{1F600}');
  });
});
