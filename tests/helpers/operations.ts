import { randomBytes } from 'node:crypto';
import type { TestServer } from './app';

/** The operations as a wallet app writes them. */
export const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { verified } }`;
export const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { token deviceId expiresAt } }`;
export const WALLET_STATE = `query WalletState { walletState { encryptedWallet sequence hmac updatedAt } }`;
export const UPDATE_WALLET = `mutation Update($input: WalletStateInput!) {
  updateWalletState(input: $input) {
    __typename
    ... on WalletStateSuccess { walletState { encryptedWallet sequence hmac updatedAt } }
    ... on WalletStateConflict { latest { encryptedWallet sequence hmac updatedAt } }
  }
}`;
export const CHANGE_PASSWORD = `mutation ChangePassword($input: ChangePasswordInput!) {
  changePassword(input: $input) {
    __typename
    ... on ChangePasswordSuccess { walletState { encryptedWallet sequence hmac } }
    ... on WalletStateConflict { latest { encryptedWallet sequence hmac } }
  }
}`;
export const ME = `query Me { me { email verified createdAt devices { deviceId createdAt lastUsedAt expiresAt } } }`;
export const LOGOUT = `mutation Logout { logout }`;
export const REVOKE_DEVICE = `mutation Revoke($deviceId: String!) { revokeDevice(deviceId: $deviceId) }`;
export const DELETE_ACCOUNT = `mutation Delete($password: String!) { deleteAccount(password: $password) }`;
export const WALLET_HISTORY = `query History($sinceSequence: Int, $limit: Int) {
  walletHistory(sinceSequence: $sinceSequence, limit: $limit) { sequence hmac deviceId updatedAt bytes contentKept }
}`;
export const WALLET_VERSION = `query Version($sequence: Int!) { walletVersion(sequence: $sequence) { encryptedWallet sequence hmac updatedAt } }`;
export const ACCOUNT_ACTIVITY = `query Activity($limit: Int, $before: DateTimeISO) {
  accountActivity(limit: $limit, before: $before) { at kind deviceId newDevice sequence ipPrefix }
}`;
export const CLIENT_SALT_SEED = `query Seed($email: String!) { clientSaltSeed(email: $email) }`;

export const newSeed = () => randomBytes(32).toString('hex');
export const uniqueEmail = (tag = 'user') => `${tag}-${randomBytes(5).toString('hex')}@example.com`;
export const PASSWORD = 'correct horse battery staple';

export interface Device {
  email: string;
  password: string;
  deviceId: string;
  token: string;
}

export async function register(server: Pick<TestServer, 'gql'>, email = uniqueEmail(), password = PASSWORD, clientSaltSeed = newSeed()) {
  const response = await server.gql(REGISTER, { input: { email, password, clientSaltSeed } });
  if (response.body.errors) throw new Error(`register failed: ${JSON.stringify(response.body.errors)}`);
  return { email, password, clientSaltSeed };
}

export async function login(server: Pick<TestServer, 'gql'>, email: string, password: string, deviceId: string): Promise<Device> {
  const response = await server.gql(LOGIN, { input: { email, password, deviceId } });
  if (response.body.errors) throw new Error(`login failed: ${JSON.stringify(response.body.errors)}`);
  return { email, password, deviceId, token: response.body.data.login.token };
}

export async function registerAndLogin(server: Pick<TestServer, 'gql'>, deviceId = 'device-1'): Promise<Device> {
  const { email, password } = await register(server);
  return login(server, email, password, deviceId);
}

export async function upload(server: Pick<TestServer, 'gql'>, device: Device, sequence: number, encryptedWallet = `wallet-${sequence}`, hmac = `hmac-${sequence}`) {
  const response = await server.gql(UPDATE_WALLET, { input: { encryptedWallet, sequence, hmac } }, device.token);
  if (response.body.errors) throw new Error(`update failed: ${JSON.stringify(response.body.errors)}`);
  return response.body.data.updateWalletState;
}
export const CLIENT_KEY_PARAMS = `query KeyParams($email: String!) { clientKeyParams(email: $email) { clientSaltSeed algorithm n r p } }`;
