// The generated wire contract (see proto/ and libs/proto/generate.mjs). Never edited by hand.
import './int64-check';
export * from './gen/paxos/v1/ballot';
export * from './gen/paxos/v1/value';
export * from './gen/paxos/v1/acceptor_service';
export * from './gen/paxos/v1/proposer_service';
export * from './gen/paxos/v1/read_service';
export * from './gen/paxos/v1/state_snapshot';
export * from './gen/lmfdb/v1/source';
export * from './gen/lmfdb/v1/record_service';
export * from './gen/harmonic/v1/proposal';
export * from './gen/grpc/health/v1/health';
export * as reflectionV1 from './gen/grpc/reflection/v1/reflection';
export * as reflectionV1alpha from './gen/grpc/reflection/v1alpha/reflection';
export { FILE_DESCRIPTOR_SET_BASE64 } from './gen/descriptor-set';
