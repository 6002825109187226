import { ArgsType, Field, ID, InputType } from 'type-graphql';
import { badUserInput } from '../../errors';
import { hasControlCharacter, hasSurroundingWhitespace } from '../../lib/printable';
import type { AssertionJson, RegistrationJson } from '../../services/second-factor';
import { DeviceIdRule } from './rules';
import { IsOptional, Length, Matches, MaxLength, ValidateBy, applyDecorators } from './validators';

/**
 * The WebAuthn JSON fields are a browser's PublicKeyCredential.toJSON(): a few
 * KiB at most (a 1023-byte credential id, an attestation with a certificate
 * chain). The cap keeps a parse of anything bigger off the server.
 */
const MAX_WEBAUTHN_JSON = 64 * 1024;
export const WebauthnJsonRule = () => MaxLength(MAX_WEBAUTHN_JSON, { message: `must be at most ${MAX_WEBAUTHN_JSON} characters of JSON` });

/**
 * PROTOCOL.md: base64 of iv (12) ‖ AES-256-GCM(wrapKey, hmacKey ‖ walletKey)
 * (64 + 16 tag) = 92 bytes, so 124 characters ending in one '='. The canonical
 * encoding only: its last data character carries no stray bits.
 */
export const WRAPPED_KEYS_PATTERN = /^[A-Za-z0-9+/]{122}[AEIMQUYcgkosw048]=$/;
const WrappedKeysRule = () => Matches(WRAPPED_KEYS_PATTERN, { message: 'must be base64 of exactly 92 bytes (iv ‖ AES-256-GCM of hmacKey ‖ walletKey, PROTOCOL.md)' });

/** A name the owner recognizes in a list: printable, as a deviceId is, and short. */
const PasskeyNameRule = () =>
  applyDecorators(
    Length(1, 64, { message: 'must be 1 to 64 characters' }),
    ValidateBy({
      name: 'passkeyNamePrintable',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || (!hasControlCharacter(value) && !hasSurroundingWhitespace(value)),
        defaultMessage: () => 'must not contain control characters nor begin or end with whitespace',
      },
    }),
  );

@InputType()
export class PasskeyRegistrationInput {
  @Field({ description: "The JSON of the browser's registration response (PublicKeyCredential.toJSON())." })
  @WebauthnJsonRule()
  response!: string;

  @Field({ description: 'A name the user recognizes, 1 to 64 characters.' })
  @PasskeyNameRule()
  name!: string;

  @Field(() => String, { nullable: true, description: 'Optional: base64 of iv || AES-256-GCM(wrapKey, hmacKey || walletKey) (PROTOCOL.md).' })
  @IsOptional()
  @WrappedKeysRule()
  wrappedKeys?: string | null;
}

@InputType()
export class PasskeyLoginInput {
  @Field({ description: 'The JSON of the WebAuthn assertion.' })
  @WebauthnJsonRule()
  assertion!: string;

  @Field()
  @DeviceIdRule()
  deviceId!: string;
}

@ArgsType()
export class SetPasskeyUnlockArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @WrappedKeysRule()
  wrappedKeys?: string | null;
}

@ArgsType()
export class RemovePasskeyArgs {
  @Field(() => ID)
  id!: string;

  @Field()
  @Length(1, 1024, { message: 'must be 1 to 1024 characters' })
  password!: string;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isBase64Url = (value: unknown): value is string => isString(value) && /^[A-Za-z0-9_-]*$/.test(value);

/** The JSON object in `json`, or BAD_USER_INPUT naming `field`. */
function objectOf(json: string, field: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw badUserInput(field, `must be ${what} as JSON (PublicKeyCredential.toJSON()); this is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badUserInput(field, `must be ${what} as a JSON object`);
  return value as Record<string, unknown>;
}

/** The fields every PublicKeyCredential's JSON has, checked; `response` as found, to be checked by the caller. */
function credentialOf(json: string, field: string, what: string): { id: string; response: Record<string, unknown>; rest: Record<string, unknown> } {
  const value = objectOf(json, field, what);
  const response = value.response;
  if (!isBase64Url(value.id) || value.id === '' || value.rawId !== value.id || value.type !== 'public-key' || typeof response !== 'object' || response === null) {
    throw badUserInput(field, `must be ${what}: id and rawId (the same base64url), type "public-key" and a response object`);
  }
  const extensions = value.clientExtensionResults;
  if (extensions !== undefined && (typeof extensions !== 'object' || extensions === null || Array.isArray(extensions))) {
    throw badUserInput(field, 'clientExtensionResults must be an object');
  }
  return { id: value.id, response: response as Record<string, unknown>, rest: value };
}

/** An assertion's JSON (navigator.credentials.get()), its shape checked; BAD_USER_INPUT naming `field` otherwise. */
export function parseAssertion(json: string, field: string): AssertionJson {
  const what = 'a WebAuthn assertion';
  const { id, response, rest } = credentialOf(json, field, what);
  const { clientDataJSON, authenticatorData, signature, userHandle } = response;
  if (![clientDataJSON, authenticatorData, signature].every(isBase64Url) || (userHandle !== undefined && userHandle !== null && !isBase64Url(userHandle))) {
    throw badUserInput(field, `must be ${what}: response.clientDataJSON, authenticatorData and signature (and userHandle, when present) in base64url`);
  }
  return {
    id,
    rawId: id,
    type: 'public-key',
    response: {
      clientDataJSON: clientDataJSON as string,
      authenticatorData: authenticatorData as string,
      signature: signature as string,
      ...(isString(userHandle) && userHandle !== '' ? { userHandle } : {}),
    },
    clientExtensionResults: (rest.clientExtensionResults as Record<string, unknown> | undefined) ?? {},
    ...(isString(rest.authenticatorAttachment) ? { authenticatorAttachment: rest.authenticatorAttachment } : {}),
  };
}

/** A registration response's JSON (navigator.credentials.create()), its shape checked; BAD_USER_INPUT naming `field` otherwise. */
export function parseRegistration(json: string, field: string): RegistrationJson {
  const what = "the browser's registration response";
  const { id, response, rest } = credentialOf(json, field, what);
  const { clientDataJSON, attestationObject, transports } = response;
  if (![clientDataJSON, attestationObject].every(isBase64Url)) {
    throw badUserInput(field, `must be ${what}: response.clientDataJSON and attestationObject in base64url`);
  }
  if (transports !== undefined && !(Array.isArray(transports) && transports.length <= 8 && transports.every((t) => isString(t) && /^[a-z-]{1,16}$/.test(t)))) {
    throw badUserInput(field, 'response.transports must be a list of transport names such as "internal" or "usb"');
  }
  return {
    id,
    rawId: id,
    type: 'public-key',
    response: { clientDataJSON: clientDataJSON as string, attestationObject: attestationObject as string, ...(transports ? { transports: transports as string[] } : {}) },
    clientExtensionResults: (rest.clientExtensionResults as Record<string, unknown> | undefined) ?? {},
    ...(isString(rest.authenticatorAttachment) ? { authenticatorAttachment: rest.authenticatorAttachment } : {}),
  };
}
