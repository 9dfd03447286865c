import { seededRandom } from '../../core/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../../core/index.js';
import { planFolders, validateMappingOptions, type MappingOptions, type MappingPlan, type SourceFolder } from './index.js';

/** Dovecot to Dovecot by default: "/" both sides, no prefixes, no special-use announced. */
function opts(o: Partial<MappingOptions> = {}): MappingOptions {
  return { sourceDelimiter: '/', sourcePrefix: '', targetDelimiter: '/', targetPrefix: '', targetSpecialUse: {}, ...o };
}

function folders(delimiter: string | null, ...paths: (string | Partial<SourceFolder> & { path: string })[]): SourceFolder[] {
  return paths.map((p) => (typeof p === 'string' ? { path: p, delimiter } : { delimiter, ...p }));
}

function mapping(plan: MappingPlan, source: string) {
  const m = plan.mappings.find((x) => x.source === source);
  assert.ok(m, `no mapping for ${source}: ${JSON.stringify(plan, null, 1)}`);
  return m;
}

function targets(plan: MappingPlan): Record<string, string> {
  return Object.fromEntries(plan.mappings.map((m) => [m.source, m.target]));
}

test('INBOX in any case maps to INBOX', () => {
  for (const name of ['INBOX', 'inbox', 'Inbox']) {
    const plan = planFolders(folders('/', name), opts());
    assert.deepEqual(plan.mappings, [{ source: name, target: 'INBOX', display: { source: 'INBOX', target: 'INBOX' }, reason: 'inbox' }]);
  }
});

test('separators: "." source to "/" target', () => {
  const plan = planFolders(folders('.', 'Projects', 'Projects.2024', 'Projects.2024.Q1'), opts({ sourceDelimiter: '.' }));
  assert.deepEqual(targets(plan), { Projects: 'Projects', 'Projects.2024': 'Projects/2024', 'Projects.2024.Q1': 'Projects/2024/Q1' });
  assert.equal(mapping(plan, 'Projects.2024.Q1').display.source, 'Projects/2024/Q1');
  assert.equal(mapping(plan, 'Projects.2024.Q1').reason, 'same-name');
});

test('separators: "/" source to "." target', () => {
  const plan = planFolders(folders('/', 'Projects/2024/Q1'), opts({ targetDelimiter: '.' }));
  assert.deepEqual(targets(plan), { 'Projects/2024/Q1': 'Projects.2024.Q1' });
  assert.equal(mapping(plan, 'Projects/2024/Q1').display.target, 'Projects/2024/Q1');
});

test('a flat source (NIL delimiter) keeps each name as one level', () => {
  const plan = planFolders(folders(null, 'a.b', 'c/d'), opts({ sourceDelimiter: null, targetDelimiter: '.' }));
  assert.deepEqual(targets(plan), { 'a.b': 'a&ICQ-b', 'c/d': 'c/d' });
});

test('source prefix "INBOX." is stripped (Courier/Cyrus to Dovecot), INBOX itself stays', () => {
  const o = opts({ sourceDelimiter: '.', sourcePrefix: 'INBOX.' });
  const plan = planFolders(folders('.', 'INBOX', 'INBOX.Projects', 'INBOX.Projects.A', 'inbox.Lower', 'INBOX.Sent'), o);
  assert.deepEqual(targets(plan), {
    INBOX: 'INBOX', 'INBOX.Projects': 'Projects', 'INBOX.Projects.A': 'Projects/A', 'inbox.Lower': 'Lower', 'INBOX.Sent': 'Sent',
  });
  assert.equal(mapping(plan, 'INBOX.Sent').reason, 'localized-name');
  assert.equal(mapping(plan, 'INBOX.Projects.A').display.source, 'Projects/A');
});

test('target prefix "INBOX." is added, but not to INBOX or its own children', () => {
  const o = opts({ targetDelimiter: '.', targetPrefix: 'INBOX.', targetSpecialUse: { '\\Sent': 'INBOX.Sent Items' } });
  const plan = planFolders(folders('/', 'INBOX', 'INBOX/Sub', 'Projects/A', 'Sent', 'Papierkorb'), o);
  assert.deepEqual(targets(plan), {
    INBOX: 'INBOX', 'INBOX/Sub': 'INBOX.Sub', 'Projects/A': 'INBOX.Projects.A', Sent: 'INBOX.Sent Items', Papierkorb: 'INBOX.Trash',
  });
  assert.equal(mapping(plan, 'Projects/A').display.target, 'Projects/A');
});

test('a component holding the target delimiter is escaped with a lookalike, not split', () => {
  const toSlash = planFolders(folders('.', 'a/b', 'a/b.c'), opts({ sourceDelimiter: '.' }));
  assert.deepEqual(targets(toSlash), { 'a/b': 'a&IhU-b', 'a/b.c': 'a&IhU-b/c' }); // U+2215 DIVISION SLASH
  assert.equal(mapping(toSlash, 'a/b.c').display.source, 'a\u2215b/c');
  const toDot = planFolders(folders('/', 'v1.2', 'v1.2/notes'), opts({ targetDelimiter: '.' }));
  assert.deepEqual(targets(toDot), { 'v1.2': 'v1&ICQ-2', 'v1.2/notes': 'v1&ICQ-2.notes' }); // U+2024 ONE DOT LEADER
  // "Foo.Bar" (one level) and "Foo/Bar" (two) stay apart on a "." target: no collision to report.
  const apart = planFolders(folders('/', 'Foo', 'Foo.Bar', 'Foo/Bar'), opts({ targetDelimiter: '.' }));
  assert.deepEqual(targets(apart), { Foo: 'Foo', 'Foo.Bar': 'Foo&ICQ-Bar', 'Foo/Bar': 'Foo.Bar' });
  assert.deepEqual(apart.collisions, []);
});

const LOCALIZED: [string, string, string, string][] = [
  // language, wire name, UTF-8, expected use
  ['en', 'Sent Items', 'Sent Items', '\\Sent'],
  ['de', 'Gesendete Elemente', 'Gesendete Elemente', '\\Sent'],
  ['de', 'Entw&APw-rfe', 'Entwürfe', '\\Drafts'],
  ['de', 'Gel&APY-schte Objekte', 'Gelöschte Objekte', '\\Trash'],
  ['nl', 'Verzonden items', 'Verzonden items', '\\Sent'],
  ['nl', 'Ongewenste e-mail', 'Ongewenste e-mail', '\\Junk'],
  ['fr', '&AMk-l&AOk-ments envoy&AOk-s', 'Éléments envoyés', '\\Sent'],
  ['fr', 'Corbeille', 'Corbeille', '\\Trash'],
  ['fr', 'Pourriel', 'Pourriel', '\\Junk'],
  ['es', 'Borradores', 'Borradores', '\\Drafts'],
  ['es', 'Elementos enviados', 'Elementos enviados', '\\Sent'],
  ['it', 'Posta indesiderata', 'Posta indesiderata', '\\Junk'],
  ['pt', 'Itens exclu&AO0-dos', 'Itens excluídos', '\\Trash'],
  ['pl', 'Elementy wys&AUI-ane', 'Elementy wysłane', '\\Sent'],
  ['sv', 'Skr&AOQ-ppost', 'Skräppost', '\\Junk'],
  ['nl', 'Archief', 'Archief', '\\Archive'],
];

test('localized special-use names in nine languages map to the target special-use folder', () => {
  const targetSpecialUse = { '\\Sent': 'Sent', '\\Drafts': 'Drafts', '\\Trash': 'Trash', '\\Junk': 'Junk', '\\Archive': 'Archive' } as const;
  for (const [lang, wire, utf8, use] of LOCALIZED) {
    const plan = planFolders(folders('/', wire), opts({ targetSpecialUse }));
    const m = mapping(plan, wire);
    assert.equal(m.reason, 'localized-name', `${lang} ${utf8}`);
    assert.equal(m.specialUse, use, `${lang} ${utf8}`);
    assert.equal(m.target, targetSpecialUse[use as keyof typeof targetSpecialUse], `${lang} ${utf8}`);
    assert.equal(m.display.source, utf8);
  }
});

test('localized names match case-insensitively and after NFC', () => {
  const nfd = 'Entwu\u0308rfe';
  const plan = planFolders(folders('/', 'SENT ITEMS', nfd, 'junk-e-mail'), opts({ utf8Source: true }));
  assert.deepEqual(targets(plan), { 'SENT ITEMS': 'Sent', [nfd]: 'Drafts', 'junk-e-mail': 'Junk' });
  assert.equal(mapping(plan, nfd).display.source, 'Entwürfe'); // NFC
});

test('Entwürfe is Drafts at the top level and an ordinary folder below it', () => {
  const plan = planFolders(folders('/', 'Entw&APw-rfe', 'Projekte/Entw&APw-rfe'), opts({ targetSpecialUse: { '\\Drafts': 'Drafts' } }));
  assert.deepEqual(targets(plan), { 'Entw&APw-rfe': 'Drafts', 'Projekte/Entw&APw-rfe': 'Projekte/Entw&APw-rfe' });
  assert.equal(mapping(plan, 'Projekte/Entw&APw-rfe').reason, 'same-name');
  assert.equal(mapping(plan, 'Projekte/Entw&APw-rfe').specialUse, undefined);
});

test('an RFC 6154 attribute beats the name', () => {
  const plan = planFolders(
    folders('/', { path: 'Sent', specialUse: '\\Junk' }, { path: 'Archive', flags: ['\\HasNoChildren', '\\trash'] }),
    opts({ targetSpecialUse: { '\\Junk': 'Spam', '\\Trash': 'Deleted Items' } }),
  );
  assert.deepEqual(targets(plan), { Sent: 'Spam', Archive: 'Deleted Items' });
  assert.equal(mapping(plan, 'Sent').reason, 'special-use');
  assert.equal(mapping(plan, 'Archive').specialUse, '\\Trash');
});

test('attributes count at any depth, and the subtree follows its special-use parent', () => {
  const plan = planFolders(
    folders('/', { path: '[Gmail]', flags: ['\\Noselect', '\\HasChildren'] }, { path: '[Gmail]/Sent Mail', specialUse: '\\Sent' },
      '[Gmail]/Sent Mail/Old', '[Gmail]/Important', 'Sent Items/2019'),
    opts({ targetSpecialUse: { '\\Sent': 'Gesendet' } }),
  );
  assert.deepEqual(targets(plan), {
    '[Gmail]/Sent Mail': 'Gesendet', '[Gmail]/Sent Mail/Old': 'Gesendet/Old', '[Gmail]/Important': '[Gmail]/Important',
    'Sent Items/2019': 'Sent Items/2019', // its parent is not listed, so nothing moves it
  });
  assert.equal(mapping(plan, '[Gmail]/Sent Mail/Old').movedWith, '[Gmail]/Sent Mail');
  assert.deepEqual(plan.skipped, [{ source: '[Gmail]', reason: '\\Noselect: holds no messages' }]);
});

test('"Sent" (\\Sent) and "Sent Items" (by name) merge into the target Sent, with a merges entry', () => {
  const plan = planFolders(
    folders('/', { path: 'Sent', specialUse: '\\Sent' }, 'Sent Items', 'Sent Items/2019', 'Sent/2019'),
    opts({ targetSpecialUse: { '\\Sent': 'Sent' } }),
  );
  assert.deepEqual(plan.merges, [{ target: 'Sent', sources: ['Sent', 'Sent Items'], specialUse: '\\Sent' }]);
  assert.deepEqual(mapping(plan, 'Sent'), {
    source: 'Sent', target: 'Sent', display: { source: 'Sent', target: 'Sent' }, reason: 'special-use', specialUse: '\\Sent', merged: true,
  });
  assert.equal(mapping(plan, 'Sent Items').merged, true);
  assert.equal(mapping(plan, 'Sent Items').reason, 'localized-name');
  // Their subfolders are ordinary: kept apart, the unmoved one keeps the name.
  assert.equal(mapping(plan, 'Sent/2019').target, 'Sent/2019');
  assert.equal(mapping(plan, 'Sent Items/2019').target, 'Sent/2019 (2)');
  assert.deepEqual(plan.collisions, [{ target: 'Sent/2019', sources: ['Sent/2019', 'Sent Items/2019'] }]);
});

test('two ordinary folders on one target (via a rule) are reported and kept apart', () => {
  const plan = planFolders(
    folders('/', 'Projects', 'Old', 'Old/Projects', 'Projects (2)'),
    opts({ rules: [{ from: 'Old/(.*)', to: '$1' }] }),
  );
  assert.deepEqual(targets(plan), { Projects: 'Projects', Old: 'Old', 'Old/Projects': 'Projects (3)', 'Projects (2)': 'Projects (2)' });
  assert.deepEqual(plan.collisions, [{ target: 'Projects', sources: ['Projects', 'Old/Projects'] }]);
  assert.equal(mapping(plan, 'Old/Projects').renamedFrom, 'Projects');
  assert.equal(mapping(plan, 'Old/Projects').reason, 'rule');
  assert.deepEqual(plan.merges, []);
});

test('a collision made by escaping keeps both, and the suffixed folder takes its subtree along', () => {
  // "a.b" and "a\u2024b" both become "a\u2024b" on a "." target; the one whose name did not change keeps it.
  const plan = planFolders(folders('/', 'a.b', 'a.b/c', 'a&ICQ-b', 'a&ICQ-b/c'), opts({ targetDelimiter: '.' }));
  assert.deepEqual(targets(plan), { 'a.b': 'a&ICQ-b (2)', 'a.b/c': 'a&ICQ-b (2).c', 'a&ICQ-b': 'a&ICQ-b', 'a&ICQ-b/c': 'a&ICQ-b.c' });
  assert.deepEqual(plan.collisions, [{ target: 'a&ICQ-b', sources: ['a&ICQ-b', 'a.b'] }]);
  assert.equal(mapping(plan, 'a.b/c').movedWith, 'a.b');
  assert.equal(mapping(plan, 'a&ICQ-b/c').movedWith, undefined);
});

test('a case-insensitive target (Exchange) makes "Foo" and "foo" collide', () => {
  const plan = planFolders(folders('/', 'Foo', 'foo'), opts({ caseInsensitiveTarget: true }));
  assert.deepEqual(targets(plan), { Foo: 'Foo', foo: 'Foo (2)' });
  assert.equal(plan.collisions.length, 1);
  assert.equal(planFolders(folders('/', 'Foo', 'foo'), opts()).collisions.length, 0);
});

test('rules: $1 templates over the UTF-8 path, first match wins, a rule beats automatic mapping', () => {
  const plan = planFolders(
    folders('/', 'Archive/2019/Projekte', 'Sent Items', 'Entw&APw-rfe', 'Other'),
    opts({
      rules: [
        { from: 'Archive/(\\d{4})/(.*)', to: 'Old/$1-$2' },
        { from: 'Sent Items', to: 'Sent Items (legacy)' },
        { from: 'Entwürfe', to: 'Ablage/Entwürfe' },
        { from: 'Entw.*', to: 'never' },
        { from: 'Oth', to: 'partial matches do not count' },
      ],
    }),
  );
  assert.deepEqual(targets(plan), {
    'Archive/2019/Projekte': 'Old/2019-Projekte', 'Sent Items': 'Sent Items (legacy)', 'Entw&APw-rfe': 'Ablage/Entw&APw-rfe', Other: 'Other',
  });
  assert.equal(mapping(plan, 'Sent Items').reason, 'rule');
  assert.equal(mapping(plan, 'Sent Items').specialUse, undefined);
});

test('a rule that lands on a special-use target merges into it', () => {
  const plan = planFolders(
    folders('/', { path: 'Sent', specialUse: '\\Sent' }, 'Postausgang alt'),
    opts({ rules: [{ from: 'Postausgang alt', to: 'Sent' }], targetSpecialUse: { '\\Sent': 'Sent' } }),
  );
  assert.deepEqual(plan.merges, [{ target: 'Sent', sources: ['Postausgang alt', 'Sent'], specialUse: '\\Sent' }]);
  assert.equal(mapping(plan, 'Postausgang alt').specialUse, '\\Sent');
});

test('include and exclude match the UTF-8 display path; exclude wins', () => {
  const src = folders('/', 'INBOX', 'Entw&APw-rfe', 'Projekte', 'Projekte/Entw&APw-rfe', 'Projekte/Alt', 'Privat');
  const ex = planFolders(src, opts({ exclude: ['Entwürfe', 'Projekte/A.*'] }));
  assert.deepEqual(Object.keys(targets(ex)), ['INBOX', 'Privat', 'Projekte', 'Projekte/Entw&APw-rfe']);
  assert.deepEqual(ex.skipped, [
    { source: 'Entw&APw-rfe', reason: 'excluded by "Entwürfe"' },
    { source: 'Projekte/Alt', reason: 'excluded by "Projekte/A.*"' },
  ]);
  const inc = planFolders(src, opts({ include: ['INBOX', 'Projekte(/.*)?'], exclude: ['Projekte/Entwürfe'] }));
  assert.deepEqual(Object.keys(targets(inc)), ['INBOX', 'Projekte', 'Projekte/Alt']);
  assert.deepEqual(inc.skipped.map((s) => s.reason), ['not included', 'not included', 'excluded by "Projekte/Entwürfe"']);
});

test('an exact name that is not a valid regex still matches', () => {
  const plan = planFolders(folders('/', 'Foo (old', 'Bar'), opts({ exclude: ['Foo (old'] }));
  assert.deepEqual(Object.keys(targets(plan)), ['Bar']);
});

test('modified UTF-7 names round-trip through the plan; utf8Target keeps UTF-8', () => {
  const src = folders('/', 'Projekte/Entw&APw-rfe', '&BB8EQAQ+BDUEOgRC-', 'AT&-T', '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  const plan = planFolders(src, opts());
  assert.deepEqual(targets(plan), {
    'Projekte/Entw&APw-rfe': 'Projekte/Entw&APw-rfe', '&BB8EQAQ+BDUEOgRC-': '&BB8EQAQ+BDUEOgRC-', 'AT&-T': 'AT&-T',
    '~peter/mail/&U,BTFw-/&ZeVnLIqe-': '~peter/mail/&U,BTFw-/&ZeVnLIqe-',
  });
  assert.deepEqual(mapping(plan, '&BB8EQAQ+BDUEOgRC-').display, { source: 'Проект', target: 'Проект' });
  const utf8 = planFolders(src, opts({ utf8Target: true }));
  assert.deepEqual(Object.values(targets(utf8)).sort(), ['AT&T', 'Projekte/Entwürfe', '~peter/mail/台北/日本語', 'Проект']);
});

test('the target special-use folder is taken from its LIST in modified UTF-7', () => {
  const plan = planFolders(folders('/', 'Drafts', 'Sent'), opts({ targetSpecialUse: { '\\Drafts': 'Entw&APw-rfe' } }));
  assert.deepEqual(targets(plan), { Drafts: 'Entw&APw-rfe', Sent: 'Sent' });
  assert.equal(mapping(plan, 'Drafts').display.target, 'Entwürfe');
});

test('a name that is not valid modified UTF-7 is migrated literally, with a warning', () => {
  const plan = planFolders(folders('/', 'AT&T', 'Caf\u00e9'), opts());
  assert.deepEqual(targets(plan), { 'AT&T': 'AT&-T', 'Caf\u00e9': 'Caf&AOk-' });
  assert.deepEqual(plan.warnings.map((w) => w.source), ['AT&T', 'Caf\u00e9']);
  assert.match(plan.warnings[0]!.reason, /not valid modified UTF-7.*unterminated/);
});

test('\\Noselect and \\NonExistent folders are skipped, their children mapped', () => {
  const plan = planFolders(
    folders('.', { path: 'Lists', flags: ['\\NoSelect'] }, 'Lists.dovecot', { path: 'Gone', flags: ['\\NonExistent'] }, 'Gone.child'),
    opts({ sourceDelimiter: '.' }),
  );
  assert.deepEqual(targets(plan), { 'Gone.child': 'Gone/child', 'Lists.dovecot': 'Lists/dovecot' });
  assert.deepEqual(plan.skipped, [
    { source: 'Gone', reason: '\\NonExistent: holds no messages' },
    { source: 'Lists', reason: '\\Noselect: holds no messages' },
  ]);
});

test('a folder listed twice is mapped once, with a warning', () => {
  const plan = planFolders(folders('/', 'A', { path: 'A', subscribed: true }), opts());
  assert.deepEqual(plan.mappings, [{ source: 'A', target: 'A', display: { source: 'A', target: 'A' }, reason: 'same-name', subscribed: true }]);
  assert.equal(plan.warnings.length, 1);
});


test('the plan does not depend on the order of the input', () => {
  const src = folders('.',
    'INBOX', 'INBOX.Sent', { path: 'INBOX.Sent Items', subscribed: true }, { path: 'INBOX.Gesendet', specialUse: '\\Sent' },
    'INBOX.Entw&APw-rfe', 'INBOX.Projekte.Entw&APw-rfe', 'INBOX.a/b', 'INBOX.a&IhU-b', 'INBOX.Old.Projekte', 'INBOX.Projekte',
    { path: 'INBOX.Lists', flags: ['\\Noselect'] }, 'INBOX.Lists.x', 'INBOX.Trash', 'INBOX.Papierkorb.2020', 'INBOX.Papierkorb',
    'INBOX.Junk', 'INBOX.Spam', 'INBOX.foo', 'INBOX.Foo', 'INBOX.Sent Items.2019', 'INBOX.Sent.2019', 'INBOX.Sent',
  );
  const o = opts({
    sourceDelimiter: '.', sourcePrefix: 'INBOX.', targetDelimiter: '/', caseInsensitiveTarget: true,
    targetSpecialUse: { '\\Sent': 'Sent', '\\Trash': 'Deleted Items' }, rules: [{ from: 'Old/(.*)', to: '$1' }],
  });
  const expected = planFolders(src, o);
  assert.ok(expected.merges.length >= 2 && expected.collisions.length >= 2, JSON.stringify(expected, null, 1));
  const next = seededRandom(7);
  for (let round = 0; round < 50; round++) {
    const shuffled = [...src];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    assert.deepEqual(planFolders(shuffled, o), expected);
  }
});

test('invalid options: a value from validateMappingOptions, an MbError from planFolders', () => {
  const bad = opts({ targetDelimiter: '::', rules: [{ from: '(unclosed', to: 'x' }] });
  const check = validateMappingOptions(bad);
  assert.equal(check.ok, false);
  if (!check.ok) {
    assert.equal(check.reasons.length, 2);
    assert.match(check.reasons[1]!, /rules\[0\]\.from/);
  }
  assert.throws(() => planFolders([], bad), (err) => MbError.is(err, 'IMAP_MAPPING_OPTIONS_INVALID'));
  assert.deepEqual(validateMappingOptions(opts()), { ok: true });
});
