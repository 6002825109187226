/** The source of "now", passed in so tests can move time without monkey-patching. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const addMilliseconds = (date: Date, ms: number) => new Date(date.getTime() + ms);
export const DAY_MS = 24 * 60 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;
