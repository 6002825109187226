import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { GraphQLDateTimeISO } from 'graphql-scalars';

/**
 * A security-log event's time as a page cursor: the millisecond it happened
 * in, and its rank among the account's events of that millisecond (0 for the
 * first written). The server records milliseconds, so the digits below them
 * are free: the rank is written there (`…:02.123002Z` is the third event of
 * millisecond .123), and a client that pages with `before` = the last event's
 * `at`, as the contract says, resumes exactly after it, while every parser
 * still reads the millisecond it happened in.
 */
export class EventTime extends Date {
  constructor(
    ms: number,
    readonly rankInMs: number,
  ) {
    super(ms);
  }
}

/** Three digits below the millisecond: the most events of one account in one millisecond that page exactly. */
export const MAX_RANK_IN_MS = 999;

const SUB_MILLISECOND = /T\d{2}:\d{2}:\d{2}\.\d{3}(\d{1,3})/;

/** An EventTime when the text carries digits below the millisecond, else the plain Date graphql-scalars parsed. */
function withRank(parsed: Date, text: unknown): Date {
  const digits = typeof text === 'string' ? SUB_MILLISECOND.exec(text)?.[1] : undefined;
  const rank = digits ? Number(digits.padEnd(3, '0')) : 0;
  return rank > 0 ? new EventTime(parsed.getTime(), rank) : parsed;
}

/**
 * graphql-scalars' DateTimeISO (same name, description and parsing), which
 * also writes an EventTime's rank below the millisecond and reads it back from
 * an argument. Every other date-time reads and writes exactly as before.
 */
export const DateTimeISOScalar = new GraphQLScalarType<Date, string>({
  ...GraphQLDateTimeISO.toConfig(),
  serialize(value) {
    const text = GraphQLDateTimeISO.serialize(value) as string;
    if (!(value instanceof EventTime) || value.rankInMs <= 0) return text;
    return `${text.slice(0, -1)}${String(Math.min(value.rankInMs, MAX_RANK_IN_MS)).padStart(3, '0')}Z`;
  },
  parseValue(value) {
    return withRank(GraphQLDateTimeISO.parseValue(value) as Date, value);
  },
  parseLiteral(node: ValueNode, variables) {
    const parsed = GraphQLDateTimeISO.parseLiteral(node, variables) as Date;
    return withRank(parsed, node.kind === Kind.STRING ? node.value : undefined);
  },
});
