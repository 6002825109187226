import { IsEmail, Length, Matches, MaxLength, applyDecorators } from './validators';

/** The validation rules of docs/PROTOCOL.md ("Limits"), one decorator per domain word, shared by every input. */
export const EmailRule = () =>
  applyDecorators(
    MaxLength(254, { message: 'must be at most 254 characters' }),
    IsEmail({ allow_display_name: false, require_tld: true }, { message: 'must be a bare email address such as joe@example.com' }),
  );
export const PasswordRule = () => Length(8, 1024, { message: 'must be 8 to 1024 characters' });
export const ClientSaltSeedRule = () => Matches(/^[0-9a-fA-F]{64}$/, { message: 'must be exactly 64 hex characters' });
export const DeviceIdRule = () => Length(1, 255, { message: 'must be 1 to 255 characters' });
