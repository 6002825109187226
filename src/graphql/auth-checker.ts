import { createParameterDecorator, type AuthCheckerFn } from 'type-graphql';
import type { RequestContext } from '../context';

/** @Authorized() fields need a valid token; the lookup throws UNAUTHENTICATED otherwise. */
export const authChecker: AuthCheckerFn<RequestContext> = async ({ context }) => {
  await context.session();
  return true;
};

/** Injects the caller's AuthSession into a resolver argument. */
export function CurrentSession() {
  return createParameterDecorator<RequestContext>(({ context }) => context.session());
}
