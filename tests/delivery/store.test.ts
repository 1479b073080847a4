import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StateError } from '../../lib/delivery/state';
import { loadRollouts } from '../../lib/delivery/store';

describe('loadRollouts', () => {
  test('fails without rollout/<env>/, naming the directory and what to do', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'store-test-'));
    fs.mkdirSync(path.join(root, 'rollout', 'local'), { recursive: true });
    try {
      expect(() => loadRollouts(root, 'staging')).toThrow(StateError);
      expect(() => loadRollouts(root, 'staging')).toThrow('invalid rollout state rollout/staging/:\n'
        + '  - the directory is missing; every environment needs one, with a state file per service (copy rollout/local/ and adjust it)');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('a directory without a service\'s file names that file', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'store-test-'));
    fs.mkdirSync(path.join(root, 'rollout', 'staging'), { recursive: true });
    try {
      expect(() => loadRollouts(root, 'staging')).toThrow(/^invalid rollout state rollout\/staging\/\w+\.yaml:\n {2}- the file is missing/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
