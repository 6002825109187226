import { totpCode } from '../../src/lib/totp';
import { errorCode, type GraphQLResponse } from '../../test-support/graphql-http';
import { type TestServer } from './app';
import type { ManualClock } from './clock';
import { login, register, type Device } from '../../test-support/operations';
import {
  BeginPasskeyRegistrationDocument,
  BeginTotpDocument,
  ConfirmTotpDocument,
  FinishPasskeyRegistrationDocument,
  LoginDocument,
  PasskeysDocument,
  SecondFactorStatusDocument,
} from '../../test-support/operations.generated';
import type { SoftwareAuthenticator } from './webauthn-authenticator';

/** Steps for the second factor's tests (tests/api/second-factor.test.ts, tests/redis/second-factor-budget.test.ts). */
export const STEP_MS = 30_000;
export const START = new Date('2026-06-01T12:00:10.000Z');

export type Api = Pick<TestServer, 'gql'>;
export type SecondFactor = { totp?: string; recoveryCode?: string; webauthn?: string };

export const ok = <T>(response: GraphQLResponse<T>): T => {
  if (response.body.errors) throw new Error(JSON.stringify(response.body.errors));
  return response.body.data!;
};

/** Registers, logs in as `deviceId`, and enables TOTP at the clock's time: the device, the TOTP secret and the recovery codes. */
export async function withTotp(api: Api, clock: ManualClock, deviceId = 'phone'): Promise<{ device: Device; secret: string; codes: string[] }> {
  const { email, password } = await register(api);
  const device = await login(api, email, password, deviceId);
  const { secret } = ok(await api.gql(BeginTotpDocument, { password }, device.token)).beginTotp;
  const { codes } = ok(await api.gql(ConfirmTotpDocument, { code: totpCode(secret, clock.now()) }, device.token)).confirmTotp;
  return { device, secret, codes };
}

export const loginWith = (api: Api, device: Pick<Device, 'email' | 'password'>, secondFactor?: SecondFactor, deviceId = 'laptop') =>
  api.gql(LoginDocument, { input: { email: device.email, password: device.password, deviceId, ...(secondFactor ? { secondFactor } : {}) } });

export const status = async (api: Api, device: Device) => ok(await api.gql(SecondFactorStatusDocument, {}, device.token)).me.secondFactor;

/** Budgets on, except the per-IP ones, which every test login here shares. */
export const BUDGET_ENV = {
  RATE_LIMITS: 'on',
  RATE_LIMIT_LOGIN_PER_IP: '10000/60',
  RATE_LIMIT_LOGIN_FAILURES_PER_IP: '10000/60',
};

/** Ten failed factors against the account, through `apis` in turn: each SECOND_FACTOR_INVALID; a right password before each never refills the budget. */
export async function spendBudget(apis: Api[], device: Device, wrong: string) {
  for (let i = 0; i < 10; i += 1) {
    const api = apis[i % apis.length];
    expect(errorCode(await loginWith(api, device))).toBe('SECOND_FACTOR_REQUIRED');
    expect(errorCode(await loginWith(api, device, { totp: wrong }))).toBe('SECOND_FACTOR_INVALID');
  }
}

/** A 6-digit code that is none of the secret's codes within two steps of now. */
export function wrongCode(secret: string, clock: ManualClock): string {
  const near = new Set([-2, -1, 0, 1, 2].map((steps) => totpCode(secret, new Date(clock.now().getTime() + steps * STEP_MS))));
  for (let n = 0; ; n += 1) {
    const code = String(n).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

/** The relying party the passkey tests configure, and the origin their software authenticator writes. */
export const PASSKEY_ENV = { WEBAUTHN_RP_ID: 'wallet.example', WEBAUTHN_ORIGINS: 'https://wallet.example,https://app.wallet.example' };
export const PASSKEY_ORIGIN = 'https://wallet.example';

/** PROTOCOL.md's test vector: base64 of exactly 92 bytes, as a client's wrap is. */
export const WRAPPED_KEYS_VECTOR = '8PHy8/T19vf4+fr7MmeiyLFXYIa6c3Yli7iDgf0vC3rh8sa1kDuSkEFqNBdyhqqP3cnIBxGlcEs+R8zEvsX5Jw5QNEunKqMzYyo31EzLt4JvoxfB0Ev+/8QF+ck=';

/** Adds a passkey made by `authenticator` to the signed-in device's account: the Passkey as the server answers it. */
export async function addPasskey(api: Api, device: Device, authenticator: SoftwareAuthenticator, name = 'Laptop', wrappedKeys?: string) {
  const options = ok(await api.gql(BeginPasskeyRegistrationDocument, { password: device.password }, device.token)).beginPasskeyRegistration;
  const response = JSON.stringify(authenticator.create(options));
  return ok(await api.gql(FinishPasskeyRegistrationDocument, { input: { response, name, ...(wrappedKeys ? { wrappedKeys } : {}) } }, device.token))
    .finishPasskeyRegistration;
}

export const passkeysOf = async (api: Api, device: Device) => ok(await api.gql(PasskeysDocument, {}, device.token)).me.secondFactor;
