import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeNames, editDistance } from './suggest.ts';

void test('editDistance counts insertions, deletions, substitutions and transpositions', () => {
  assert.equal(editDistance('python3', 'python3'), 0);
  assert.equal(editDistance('pyhton3', 'python3'), 1);
  assert.equal(editDistance('vim', 'vim-enhanced'), 9);
  assert.equal(editDistance('Bash', 'bash'), 0);
  assert.equal(editDistance('', 'abc'), 3);
});

void test('closeNames ranks by distance, then name, and keeps substrings', () => {
  const names = ['python3', 'python3-libs', 'python2', 'perl', 'vim-enhanced', 'vim-minimal', 'kernel-core', 'kernel'];
  assert.deepEqual(closeNames('pyhton3', names), ['python3', 'python2']);
  assert.deepEqual(closeNames('vim', names), ['vim-minimal', 'vim-enhanced']);
  assert.deepEqual(closeNames('kernel', names), ['kernel-core'], 'the exact name is not a suggestion');
  assert.deepEqual(closeNames('zzzz', names), []);
  assert.deepEqual(closeNames('python', names, 1), ['python2']);
});
