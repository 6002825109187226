import { Field, ID, ObjectType } from 'type-graphql';
import type { PasskeyData } from '../../services/passkey.service';
import { AuthToken, ClientKeyParams } from './account.type';

@ObjectType()
export class Passkey {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field({ description: 'True when it holds wrapped keys: it can sign in and unlock without the root password.' })
  unlock!: boolean;

  static from({ id, name, createdAt, lastUsedAt, unlock }: PasskeyData): Passkey {
    return Object.assign(new Passkey(), { id, name, createdAt, lastUsedAt, unlock });
  }
}

@ObjectType()
export class PasskeyLogin {
  @Field(() => AuthToken)
  token!: AuthToken;

  @Field()
  email!: string;

  @Field(() => ClientKeyParams)
  keyParams!: ClientKeyParams;

  @Field(() => String, { nullable: true, description: "The passkey's wrapped keys; null when it has none (then the root password is needed to decrypt)." })
  wrappedKeys!: string | null;
}
