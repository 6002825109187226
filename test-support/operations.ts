import { randomBytes } from 'node:crypto';
import type { GraphQLApi } from './graphql-http';
import { LoginDocument, RegisterDocument, UpdateWalletStateDocument } from './operations.generated';

/** The operations themselves are the typed documents of operations.generated.ts (the client's operations and the tests' probes); these are the steps most tests start with. */

export const newSeed = () => randomBytes(32).toString('hex');
export const uniqueEmail = (tag = 'user') => `${tag}-${randomBytes(5).toString('hex')}@example.com`;
export const PASSWORD = 'correct horse battery staple';

export interface Device {
  email: string;
  password: string;
  deviceId: string;
  token: string;
}

export async function register(server: GraphQLApi, email = uniqueEmail(), password = PASSWORD, clientSaltSeed = newSeed()) {
  const response = await server.gql(RegisterDocument, { input: { email, password, clientSaltSeed } });
  if (response.body.errors) throw new Error(`register failed: ${JSON.stringify(response.body.errors)}`);
  return { email, password, clientSaltSeed };
}

export async function login(server: GraphQLApi, email: string, password: string, deviceId: string): Promise<Device> {
  const response = await server.gql(LoginDocument, { input: { email, password, deviceId } });
  if (response.body.errors) throw new Error(`login failed: ${JSON.stringify(response.body.errors)}`);
  return { email, password, deviceId, token: response.body.data!.login.token };
}

export async function registerAndLogin(server: GraphQLApi, deviceId = 'device-1'): Promise<Device> {
  const { email, password } = await register(server);
  return login(server, email, password, deviceId);
}

export async function upload(server: GraphQLApi, device: Device, sequence: number, encryptedWallet = `wallet-${sequence}`, hmac = `hmac-${sequence}`) {
  const response = await server.gql(UpdateWalletStateDocument, { input: { encryptedWallet, sequence, hmac } }, device.token);
  if (response.body.errors) throw new Error(`update failed: ${JSON.stringify(response.body.errors)}`);
  return response.body.data!.updateWalletState;
}
