import { credentials, Metadata } from '@grpc/grpc-js';
import {
  AcceptorServiceClient,
  ProposerServiceClient,
  type ProposeRequest,
  type ProposeResponse,
  type StatusResponse,
} from '@paxos/proto';

export function acceptorStatus(address: string, deadlineMs: number): Promise<StatusResponse> {
  const client = new AcceptorServiceClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.status({}, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

export function propose(address: string, request: ProposeRequest, deadlineMs: number): Promise<ProposeResponse> {
  const client = new ProposerServiceClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.propose(request, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}
