import { describeWith } from '../helpers/required-services';

// A block whose service is missing here, with a body that fails the way one reading the missing service's
// settings does (new URL(process.env.REDIS_URL!) with REDIS_URL unset): if its body ran, this file would fail to run.
let bodyRan = false;
describeWith([{ missing: 'a service this test makes up', mustFail: false }], 'a block that needs a missing service', () => {
  bodyRan = true;
  throw new TypeError('Invalid URL');
});

describe('describeWith (tests/helpers)', () => {
  it('when a service a block needs is missing here, then the block is skipped without running its body', () => {
    expect(bodyRan).toBe(false);
  });
});
