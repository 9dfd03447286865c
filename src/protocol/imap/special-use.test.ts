import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOCALIZED_SPECIAL_USE_NAMES, parseSpecialUse, specialUseByName, specialUseFromAttributes } from './special-use.js';

const REQUIRED: Record<string, string[]> = {
  '\\Sent': ['Sent', 'Sent Items', 'Sent Messages', 'Sent Mail', 'Gesendet', 'Gesendete Elemente', 'Gesendete Objekte',
    'Verzonden items', 'Verzonden', 'Éléments envoyés', 'Messages envoyés'],
  '\\Drafts': ['Drafts', 'Entwürfe', 'Concepten', 'Brouillons'],
  '\\Trash': ['Deleted Items', 'Deleted Messages', 'Trash', 'Bin', 'Papierkorb', 'Gelöschte Elemente', 'Gelöschte Objekte',
    'Verwijderde items', 'Prullenbak', 'Éléments supprimés', 'Corbeille'],
  '\\Junk': ['Junk', 'Junk E-mail', 'Spam', 'Junk-E-Mail', 'Ongewenste e-mail', 'Courrier indésirable', 'Pourriel'],
  '\\Archive': ['Archive', 'Archiv', 'Archief', 'Archives'],
};

test('special-use table: the names the brief requires, in English, German, Dutch and French', () => {
  for (const [use, names] of Object.entries(REQUIRED)) {
    for (const name of names) assert.equal(specialUseByName(name), use, name);
  }
});

test('special-use table: nine languages, every use of each, and every row resolves to its column', () => {
  assert.deepEqual(Object.keys(LOCALIZED_SPECIAL_USE_NAMES).sort(), ['de', 'en', 'es', 'fr', 'it', 'nl', 'pl', 'pt', 'sv']);
  const col = { sent: '\\Sent', drafts: '\\Drafts', trash: '\\Trash', junk: '\\Junk', archive: '\\Archive' } as const;
  for (const [lang, row] of Object.entries(LOCALIZED_SPECIAL_USE_NAMES)) {
    assert.deepEqual(Object.keys(row).sort(), ['archive', 'drafts', 'junk', 'sent', 'trash'], lang);
    for (const [c, names] of Object.entries(row) as [keyof typeof col, string[]][]) {
      for (const n of names) assert.equal(specialUseByName(n), col[c], `${lang} ${n}`);
    }
  }
});

test('special-use names: case-insensitive, NFC, exact otherwise', () => {
  assert.equal(specialUseByName('GELÖSCHTE ELEMENTE'), '\\Trash');
  assert.equal(specialUseByName('E\u0301le\u0301ments envoye\u0301s'), '\\Sent'); // NFD
  assert.equal(specialUseByName('Sent Items 2'), undefined);
  assert.equal(specialUseByName(' Sent'), undefined);
});

test('special-use attributes: case-insensitive, fixed priority when several', () => {
  assert.equal(parseSpecialUse('\\sent'), '\\Sent');
  assert.equal(parseSpecialUse('\\HasChildren'), undefined);
  assert.equal(specialUseFromAttributes(['\\HasNoChildren', '\\Junk', '\\Trash']), '\\Trash');
  assert.equal(specialUseFromAttributes([]), undefined);
});
