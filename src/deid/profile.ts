import {
  PROFILE_ROWS,
  type ActionCode,
  type ProfileRow,
  type TableAction,
} from './profile-table.js';

/** What the de-identifier does to one element, once the table, options and overrides agree. */
export interface ElementAction {
  code: ActionCode;
  /** Why: the table row's keyword, or the rule that decided (private tag, safety net, override). */
  reason: string;
  /** The VR to encode a replacement with when the data set does not say (implicit VR). */
  vr: string | undefined;
}

export interface ProfileOverrides {
  /** Tags kept as they are whatever the profile says (--deid-keep), as 32-bit numbers. */
  keep: ReadonlySet<number>;
  /** Tags removed whatever the profile says (--deid-remove). */
  remove: ReadonlySet<number>;
}

/**
 * Combined codes resolved as PS3.15 E.1.1 allows without knowing the IOD of the object: the
 * least removing choice that keeps a Type 2 attribute present (X/Z → Z, X/D and Z/D and X/Z/D
 * → D) and, for X/Z/U*, U: the sequence stays and the UIDs in it are replaced by their own rows.
 */
const COMBINED: Record<TableAction, ActionCode> = {
  D: 'D',
  Z: 'Z',
  X: 'X',
  K: 'K',
  C: 'C',
  U: 'U',
  'X/Z': 'Z',
  'X/D': 'D',
  'Z/D': 'D',
  'X/Z/D': 'D',
  'X/Z/U*': 'U',
};

const BY_TAG = new Map<number, ProfileRow>();
/** Repeating groups (50xx, 60xx): keyed by element with the group's low byte cleared. */
const REPEATING = new Map<number, ProfileRow>();
for (const row of PROFILE_ROWS) {
  if (row.tag.includes('xx')) REPEATING.set(parseInt(row.tag.replace('xx', '00'), 16), row);
  else BY_TAG.set(parseInt(row.tag, 16), row);
}

function rowFor(tag: number): ProfileRow | undefined {
  return BY_TAG.get(tag) ?? REPEATING.get((tag & 0xff00ffff) >>> 0);
}

/**
 * The profile's action for one table row, with both options applied. A sequence the table would
 * empty or fill with a dummy (D, X/Z, X/D, X/Z/D) is removed instead: an empty sequence is invalid
 * where the sequence is Type 3 (dciodvfy: "Bad Sequence number of Items 0"), and a dummy item
 * would have to invent codes; a Type 2 sequence emptied by a plain Z stays empty.
 */
export function rowAction(row: ProfileRow): ActionCode {
  const option = row.rlmd ?? row.cd;
  if (option !== undefined) return option;
  if (row.vr === 'SQ' && row.basic !== 'Z' && row.basic !== 'X/Z/U*' && /[DZ]/.test(row.basic)) {
    return 'X';
  }
  return COMBINED[row.basic];
}

/**
 * The action for an element. Precedence: overrides (--deid-remove, then --deid-keep), group
 * lengths (recomputed), private tags (removed: the safe list of private blocks is empty),
 * the table row, then the safety nets for attributes the table does not list: person names
 * emptied and dates shifted like the listed ones.
 */
export function elementAction(
  tag: number,
  vr: string | undefined,
  overrides: ProfileOverrides,
): ElementAction {
  const row = rowFor(tag);
  const rowVr = row?.vr ?? vr;
  if (overrides.remove.has(tag)) return { code: 'X', reason: '--deid-remove', vr: rowVr };
  if (overrides.keep.has(tag)) return { code: 'K', reason: '--deid-keep', vr: rowVr };
  if ((tag & 0xffff) === 0) return { code: 'X', reason: 'group length', vr: 'UL' };
  if ((tag >>> 16) % 2 === 1) return { code: 'X', reason: 'private tag', vr };
  if (row !== undefined) return { code: rowAction(row), reason: row.keyword, vr: row.vr };
  const effective = vr;
  if (effective === 'PN') return { code: 'Z', reason: 'person name (safety net)', vr: 'PN' };
  if (effective === 'DA' || effective === 'DT') {
    return { code: 'C', reason: 'date (safety net)', vr: effective };
  }
  return { code: 'K', reason: 'not in the profile', vr };
}
