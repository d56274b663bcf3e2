import { EventEmitter } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { StreamFlow } from './stream-flow';

/** A stand-in for a server stream: records pause/resume/end and lets the test decide whether writes fit. */
class FakeCall extends EventEmitter {
  paused = false;
  endedCount = 0;
  written: string[] = [];
  writeFits = true;
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  write(m: string) {
    this.written.push(m);
    return this.writeFits;
  }
  end() {
    this.endedCount += 1;
  }
}

function flowOf(call: FakeCall, max = 2) {
  return new StreamFlow<string, string>(call as unknown as ServerDuplexStream<string, string>, max);
}

describe('the flow control of a server stream', () => {
  it('pauses reading while too many requests wait, and resumes as answers leave', () => {
    const call = new FakeCall();
    const flow = flowOf(call);
    flow.started(2);
    expect(call.paused).toBe(true);
    flow.answer('a', 1);
    expect(call.paused).toBe(false);
  });

  it('pauses reading while the client does not read its answers, until drain', () => {
    const call = new FakeCall();
    const flow = flowOf(call, 100);
    flow.started(1);
    call.writeFits = false;
    flow.answer('a', 1);
    expect(call.paused).toBe(true);
    call.writeFits = true;
    call.emit('drain');
    expect(call.paused).toBe(false);
  });

  it('ends once the input ended and every answer is written, exactly once; nothing is written after an error', () => {
    const call = new FakeCall();
    const flow = flowOf(call);
    flow.started(2);
    call.emit('end');
    expect(call.endedCount).toBe(0);
    flow.answer('a', 1);
    flow.answer('b', 1);
    expect(call.endedCount).toBe(1);
    flow.answer('late', 0);
    expect(call.written).toEqual(['a', 'b']);
    const broken = new FakeCall();
    const f2 = flowOf(broken);
    f2.started(1);
    broken.emit('error', new Error('gone'));
    f2.answer('x', 1);
    expect(broken.written).toEqual([]);
  });

  it('failAfterAnswers reads no more, writes the answers still due, then ends with the error', () => {
    const call = new FakeCall();
    const errors: unknown[] = [];
    call.on('error', (e) => errors.push(e));
    const flow = flowOf(call, 10);
    flow.started(2);
    flow.failAfterAnswers({ code: 3, details: 'bad message' });
    expect(flow.accepting).toBe(false);
    expect(call.paused).toBe(true);
    flow.answer('a', 1);
    expect(errors).toEqual([]);
    expect(call.paused).toBe(true);
    flow.answer('b', 1);
    expect(call.written).toEqual(['a', 'b']);
    expect(errors).toEqual([{ code: 3, details: 'bad message' }]);
    expect(flow.closed).toBe(true);
    // With nothing due, it ends at once.
    const idle = new FakeCall();
    const idleErrors: unknown[] = [];
    idle.on('error', (e) => idleErrors.push(e));
    flowOf(idle).failAfterAnswers({ code: 3 });
    expect(idleErrors).toEqual([{ code: 3 }]);
  });
});
