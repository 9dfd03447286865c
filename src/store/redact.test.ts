import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl, urlSecrets } from './redact.js';

test('redactUrl replaces the password and keeps the rest', () => {
  assert.equal(redactUrl('postgres://mb:s3cret@db.example.com:5432/mailbridge'), 'postgres://mb:***@db.example.com:5432/mailbridge');
  assert.equal(redactUrl('postgres://mb@127.0.0.1:5432/mailbridge'), 'postgres://mb@127.0.0.1:5432/mailbridge');
  assert.equal(
    redactUrl('postgresql://mb:p%40ss%3Aword@h/db?sslmode=require&password=other'),
    'postgresql://mb:***@h/db?sslmode=require&password=***',
  );
  assert.equal(redactUrl('host=/tmp dbname=mb password=hunter2 user=mb'), 'host=/tmp dbname=mb password=*** user=mb');
  assert.equal(redactUrl("host=h password='a b c' user=mb"), 'host=h password=*** user=mb');
});

test('urlSecrets finds the password as written and decoded', () => {
  assert.deepEqual(urlSecrets('postgres://mb:p%40ss@h/db').sort(), ['p%40ss', 'p@ss']);
  assert.deepEqual(urlSecrets('postgres://mb@h/db?password=q'), ['q']);
  assert.deepEqual(urlSecrets('postgres://mb@h/db'), []);
  assert.deepEqual(urlSecrets('host=h password=hunter2'), ['hunter2']);
});
