/** The values the directory subsystem passes between its parts. */

/** One person as one source describes them, after attribute mapping. */
export interface SourcePerson {
  system: string;
  /** Normalized DN (LDAP, LDIF) or the CSV row key (the primary address). */
  sourceId: string;
  /** The DN as the server spelled it (LDAP, LDIF); for display. */
  dn?: string;
  /** Lower-case primary address. */
  address: string;
  /** Lower-case, sorted, without the primary address. */
  aliases: string[];
  displayName: string | null;
  /** Mapped attributes (givenName, sn, telephoneNumber, title, department, company), single-valued. */
  attributes: Record<string, string>;
  /** field -> the source attribute (or CSV column) it was read from. */
  origins: Record<string, string>;
  /** modifyTimestamp / uSNChanged, when the source has it. */
  changeMark?: string;
  /** Hash of everything above that matters (not dn, not changeMark). */
  contentHash: string;
}

/** A contact object found in a system's contacts container. */
export interface ExistingContact {
  system: string;
  dn: string;
  /** Lower-case mail, or null when the object has none. */
  address: string | null;
  /** Carries our owner marker. */
  ours: boolean;
  /** The system named in our marker. */
  markerSource: string | null;
  /** The attributes mailbridge maintains, as found (single values, sorted multi-values joined by \n). */
  values: Record<string, string>;
  /**
   * Known from a names-only listing and the store's row, not read: address and
   * markerSource come from the row, values are empty. The run reads it whole
   * before anything is compared with it.
   */
  trusted?: boolean;
  /** Read by change (delta.ts): the hash of what was read, comparable with the store row's content hash. */
  hash?: string;
}

/** The contact mailbridge wants in a system for one person. */
export interface DesiredContact {
  system: string;
  address: string;
  sourceSystem: string;
  rdn: string;
  /** attribute -> values; objectClass included. */
  attributes: Record<string, string[]>;
  contentHash: string;
  /** The unified record's content hash this contact is made from. */
  personHash: string;
}

export type ConflictKind =
  /** Two systems have a person with this address. */
  | 'address-claimed'
  /** Two people (any systems) list the same address as primary or alias. */
  | 'alias-claimed'
  /** A hand-made object in a contacts container (or people OU) has the address mailbridge would provision. */
  | 'foreign-object'
  /** One system lists the same primary address twice. */
  | 'duplicate-in-system';

export interface Conflict {
  kind: ConflictKind;
  address: string;
  systems: string[];
  /** The system that wins routing, when the conflict is about routing. */
  winner: string | null;
  detail: string;
  /** Extra key part (the system or DN concerned) so two conflicts on one address stay apart. */
  subject?: string;
}

export interface RoutingDecision {
  system: string;
  reason: string;
}

/** The unified record the run wants in the store for one address. */
export interface UnifiedPerson {
  address: string;
  home: RoutingDecision;
  /** The source entry the record's values come from (the winner's). */
  entry: SourcePerson;
  /** Every system that has a person with this primary address. */
  claimants: string[];
  aliases: string[];
  contentHash: string;
}

export interface ItemChange {
  system: string;
  address: string;
  /** What changed, in words ("displayName", "aliases", "home legacy -> cloud"). */
  detail?: string;
  dn?: string;
}

export interface SyncDiff {
  people: { add: ItemChange[]; change: ItemChange[]; delete: ItemChange[] };
  contacts: { add: ItemChange[]; change: ItemChange[]; delete: ItemChange[] };
  conflicts: Conflict[];
  /** Per system: people read and contacts found before the run. */
  sources: Record<string, { people: number; contacts: number; kind: string }>;
}
