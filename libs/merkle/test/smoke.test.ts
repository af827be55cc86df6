import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeholder } from '../src/index.js';
test('smoke', () => { assert.equal(placeholder, 1); });
