import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class Device {
  @Field()
  deviceId!: string;

  @Field()
  createdAt!: Date;

  @Field()
  lastUsedAt!: Date;

  @Field()
  expiresAt!: Date;
}

@ObjectType()
export class Account {
  @Field()
  email!: string;

  @Field()
  verified!: boolean;

  @Field()
  createdAt!: Date;

  @Field(() => [Device])
  devices!: Device[];

  // secondFactor (protocol 3) is resolved by SecondFactorResolver, only when asked for.
}

@ObjectType()
export class AuthToken {
  @Field({ description: 'Send as the HTTP header `Authorization: Bearer <token>`.' })
  token!: string;

  @Field()
  deviceId!: string;

  @Field()
  expiresAt!: Date;
}

@ObjectType()
export class RegisterPayload {
  @Field({ description: 'False when a verification email was sent and must be followed first.' })
  verified!: boolean;
}

@ObjectType()
export class ClientKeyParams {
  @Field()
  clientSaltSeed!: string;

  @Field({ description: 'Always "scrypt" in protocol 2.' })
  algorithm!: string;

  @Field(() => Int)
  n!: number;

  @Field(() => Int)
  r!: number;

  @Field(() => Int)
  p!: number;
}
