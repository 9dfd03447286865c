/**
 * Special-use mailboxes (RFC 6154): the attributes, the English names we create
 * when the target announces none, and the table of localized names that clients
 * and servers without SPECIAL-USE have used for them. Declared as data (one row
 * per language) so a new language is one line, and checked once at load.
 */

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive' | '\\All' | '\\Flagged';

/** In this order when a folder carries several attributes (RFC 6154 allows it). */
export const SPECIAL_USES: readonly SpecialUse[] = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive', '\\All', '\\Flagged'];

/** The folder we use on the target when its LIST names no folder for a use. */
export const DEFAULT_SPECIAL_USE_NAMES: Readonly<Record<SpecialUse, string>> = {
  '\\Sent': 'Sent',
  '\\Drafts': 'Drafts',
  '\\Trash': 'Trash',
  '\\Junk': 'Junk',
  '\\Archive': 'Archive',
  '\\All': 'All Mail',
  '\\Flagged': 'Flagged',
};

type Row = Partial<Record<'sent' | 'drafts' | 'trash' | 'junk' | 'archive', string[]>>;

/**
 * Names seen in the wild (Outlook/Exchange, Thunderbird, Apple Mail, webmails) per
 * language. A name may appear in two languages only for the same use; the loader
 * below refuses a table where one name means two things.
 */
export const LOCALIZED_SPECIAL_USE_NAMES: Readonly<Record<string, Row>> = {
  en: {
    sent: ['Sent', 'Sent Items', 'Sent Messages', 'Sent Mail'],
    drafts: ['Drafts', 'Draft'],
    trash: ['Trash', 'Deleted Items', 'Deleted Messages', 'Bin', 'Deleted'],
    junk: ['Junk', 'Junk E-mail', 'Junk Email', 'Junk Mail', 'Spam', 'Bulk Mail'],
    archive: ['Archive', 'Archives'],
  },
  de: {
    sent: ['Gesendet', 'Gesendete Elemente', 'Gesendete Objekte', 'Gesendete Nachrichten'],
    drafts: ['Entwürfe'],
    trash: ['Papierkorb', 'Gelöschte Elemente', 'Gelöschte Objekte', 'Gelöscht'],
    junk: ['Spam', 'Junk-E-Mail', 'Unerwünscht'],
    archive: ['Archiv'],
  },
  nl: {
    sent: ['Verzonden items', 'Verzonden', 'Verzonden berichten'],
    drafts: ['Concepten'],
    trash: ['Verwijderde items', 'Prullenbak', 'Verwijderde berichten'],
    junk: ['Ongewenste e-mail', 'Ongewenst'],
    archive: ['Archief'],
  },
  fr: {
    sent: ['Éléments envoyés', 'Messages envoyés', 'Envoyés'],
    drafts: ['Brouillons'],
    trash: ['Éléments supprimés', 'Corbeille', 'Messages supprimés'],
    junk: ['Courrier indésirable', 'Pourriel', 'Indésirables'],
    archive: ['Archives'],
  },
  es: {
    sent: ['Elementos enviados', 'Enviados', 'Mensajes enviados'],
    drafts: ['Borradores'],
    trash: ['Elementos eliminados', 'Papelera', 'Eliminados'],
    junk: ['Correo no deseado', 'No deseado'],
    archive: ['Archivo', 'Archivados'],
  },
  it: {
    sent: ['Posta inviata', 'Elementi inviati', 'Inviati', 'Inviata'],
    drafts: ['Bozze'],
    trash: ['Posta eliminata', 'Elementi eliminati', 'Cestino'],
    junk: ['Posta indesiderata'],
    archive: ['Archivio'],
  },
  pt: {
    sent: ['Itens enviados', 'Enviadas', 'Mensagens enviadas'],
    drafts: ['Rascunhos'],
    trash: ['Itens excluídos', 'Itens eliminados', 'Lixeira', 'Lixo'],
    junk: ['Lixo eletrônico', 'Lixo electrónico'],
    archive: ['Arquivo', 'Arquivados'],
  },
  pl: {
    sent: ['Elementy wysłane', 'Wysłane'],
    drafts: ['Wersje robocze', 'Kopie robocze'],
    trash: ['Elementy usunięte', 'Kosz'],
    junk: ['Wiadomości-śmieci', 'Niechciana poczta'],
    archive: ['Archiwum'],
  },
  sv: {
    sent: ['Skickat', 'Skickade objekt', 'Skickade'],
    drafts: ['Utkast'],
    trash: ['Borttagna objekt', 'Papperskorgen', 'Papperskorg'],
    junk: ['Skräppost'],
    archive: ['Arkiv'],
  },
};

const ROW_USE: Readonly<Record<keyof Row, SpecialUse>> = {
  sent: '\\Sent',
  drafts: '\\Drafts',
  trash: '\\Trash',
  junk: '\\Junk',
  archive: '\\Archive',
};

/** The comparison form of a name: NFC, then case-folded (toLowerCase is locale-free). */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

function buildIndex(table: Readonly<Record<string, Row>>): ReadonlyMap<string, SpecialUse> {
  const index = new Map<string, SpecialUse>();
  for (const [lang, row] of Object.entries(table)) {
    for (const [col, names] of Object.entries(row) as [keyof Row, string[]][]) {
      const use = ROW_USE[col];
      for (const name of names) {
        const key = nameKey(name);
        const seen = index.get(key);
        if (seen !== undefined && seen !== use) {
          throw new Error(`special-use table: "${name}" (${lang}) means both ${seen} and ${use}`);
        }
        index.set(key, use);
      }
    }
  }
  return index;
}

const BY_NAME = buildIndex(LOCALIZED_SPECIAL_USE_NAMES);

/** The use a top-level folder's UTF-8 name stands for, compared after NFC and case-insensitively. */
export function specialUseByName(name: string): SpecialUse | undefined {
  return BY_NAME.get(nameKey(name));
}

const BY_ATTRIBUTE: ReadonlyMap<string, SpecialUse> = new Map(SPECIAL_USES.map((u) => [u.toLowerCase(), u]));

/** Parses one attribute as a server writes it (attributes are case-insensitive, RFC 3501 7.2.2). */
export function parseSpecialUse(attribute: string): SpecialUse | undefined {
  return BY_ATTRIBUTE.get(attribute.trim().toLowerCase());
}

/** The special use a LIST line announces, in SPECIAL_USES order when there are several. */
export function specialUseFromAttributes(attributes: readonly string[]): SpecialUse | undefined {
  const found = new Set(attributes.map(parseSpecialUse));
  return SPECIAL_USES.find((u) => found.has(u));
}
