import { type ChannelCredentials, type ClientDuplexStream, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { deadlineAfter } from '@paxos/grpc-kit';
import {
  type AcceptRequest,
  type AcceptResponse,
  AcceptorServiceClient,
  type PrepareRequest,
  type PrepareResponse,
  type StatusResponse,
  type VerifyClaimsRequest,
  type VerifyClaimsResponse,
} from '@paxos/proto';

/** A test client for one acceptor: requests on long-lived streams, replies awaited by request id. */
export class AcceptorWireClient {
  readonly client: InstanceType<typeof AcceptorServiceClient>;
  private prepareCall: ClientDuplexStream<PrepareRequest, PrepareResponse> | undefined;
  private acceptCall: ClientDuplexStream<AcceptRequest, AcceptResponse> | undefined;
  private readonly waiting = new Map<bigint, { resolve: (r: never) => void; reject: (e: unknown) => void }>();
  private nextId = 1n;
  /** The status that ended a stream, if one ended. */
  streamError: ServiceError | undefined;

  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure()) {
    this.client = new AcceptorServiceClient(address, creds);
  }

  private open<Q, T extends { requestId: bigint }>(call: ClientDuplexStream<Q, T>): void {
    call.on('data', (r: T) => {
      const w = this.waiting.get(r.requestId);
      this.waiting.delete(r.requestId);
      w?.resolve(r as never);
    });
    call.on('error', (e: ServiceError) => {
      this.streamError = e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    });
  }

  prepare(req: Omit<PrepareRequest, 'requestId'>): Promise<PrepareResponse> {
    if (!this.prepareCall) {
      this.prepareCall = this.client.prepare();
      this.open(this.prepareCall);
    }
    const requestId = this.nextId++;
    const p = new Promise<PrepareResponse>((resolve, reject) => this.waiting.set(requestId, { resolve: resolve as never, reject }));
    this.prepareCall.write({ ...req, requestId });
    return p;
  }

  /** An accept, commit notices, or both (either may be left out). */
  accept(request: Partial<Omit<AcceptRequest, 'requestId'>>): Promise<AcceptResponse> {
    if (!this.acceptCall) {
      this.acceptCall = this.client.accept();
      this.open(this.acceptCall);
    }
    const requestId = this.nextId++;
    const p = new Promise<AcceptResponse>((resolve, reject) => this.waiting.set(requestId, { resolve: resolve as never, reject }));
    this.acceptCall.write({ commits: [], quorumCommittedIndex: 0n, ...request, requestId });
    return p;
  }

  verifyClaims(req: VerifyClaimsRequest): Promise<VerifyClaimsResponse> {
    return new Promise((resolve, reject) =>
      this.client.verifyClaims(req, new Metadata(), { deadline: deadlineAfter(5000) }, (e, r) => (e ? reject(e) : resolve(r))),
    );
  }

  status(): Promise<StatusResponse> {
    return new Promise((resolve, reject) =>
      this.client.status({}, new Metadata(), { deadline: deadlineAfter(5000) }, (e, r) => (e ? reject(e) : resolve(r))),
    );
  }

  close(): void {
    this.prepareCall?.end();
    this.acceptCall?.end();
    this.client.close();
  }
}
