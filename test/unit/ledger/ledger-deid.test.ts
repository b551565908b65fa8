import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import type { SelectedInstance } from '../../../src/domain/dataset.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import type { RunSpec } from '../../../src/domain/run-spec.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { studyReports } from '../../../src/source/study-report.js';

const spec: RunSpec = {
  ...TEST_SPEC,
  batchSize: 10,
  deid: {
    profile: 'basic',
    keep: [],
    remove: [],
    staffNames: ['Ada Lovelace'],
    quarantine: true,
    keyId: 'k',
  },
};

/** What the header of S1's instance said. */
const S1_FACTS = {
  names: ['Smith^John'],
  ids: ['12345678'],
  institutions: [],
  addresses: [],
  phones: [],
  dateShiftDays: -10,
};

function instance(study: string, id: string, report: string): SelectedInstance {
  return {
    studyId: study,
    seriesId: `${study}-s`,
    seriesNumber: 1,
    instanceId: id,
    instanceNumber: 1,
    filePath: `/pacs/Smith/${id}.dcm`,
    fileUrl: `file:///pacs/Smith/${id}.dcm`,
    reportFields: [{ value: report, createdAt: '2024-03-02T10:00:00.000Z' }],
  };
}

describe('Ledger, for a run that de-identifies', () => {
  let dir: string;
  let db: SqlClient;
  let ledger: Ledger;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-ledger-deid-'));
    db = await openPglite(join(dir, 'state'), 'test state');
    ledger = await Ledger.open(db);
    await ledger.createRun('d1', spec);
    await ledger.writeSelection('d1', 10, async (addPage) => {
      const page = [
        instance('S1', 'I1', 'John Smith seen 2024-03-02 by Ada Lovelace, MRN: 12345678.'),
        instance('S2', 'I2', 'Seen 2024-03-02.'),
      ];
      await addPage(page, studyReports(page));
      return 1;
    });
    const pairs = ['S1', 'S2', 'S1-s', 'S2-s', 'I1', 'I2'].map((real) => ({
      kind: real.startsWith('I') ? 'instance' : real.endsWith('-s') ? 'series' : 'study',
      real,
      pseudonym: `pseudo-${real}`,
    }));
    await ledger.recordPseudonyms('d1', pairs);
    await ledger.recordPhi('d1', 0, 'S1', {
      facts: S1_FACTS,
      pseudonyms: [{ kind: 'patient', real: 'P1', pseudonym: 'PATX' }],
    });
    for (const ordinal of [0, 1]) {
      await ledger.recordOutcome('d1', ordinal, {
        status: ordinal === 0 ? 'delivered' : 'failed',
        attempts: 1,
        dicom: null,
        images: [],
        recipe: null,
        attributes: null,
        timings: {},
        error:
          ordinal === 0
            ? null
            : new EtlError('FILE_MISSING', 'no file /pacs/Smith/I2.dcm', {
                subject: 'instance I2',
              }),
      });
    }
  });

  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the real rows, reports, header facts and map (releasing them is for deid/)', async () => {
    const [first, second] = await ledger.datasetRows('d1', (key) => key);
    expect(first).toMatchObject({
      studyId: 'S1',
      instanceId: 'I1',
      filePath: '/pacs/Smith/I1.dcm',
      reportValue: 'John Smith seen 2024-03-02 by Ada Lovelace, MRN: 12345678.',
      fieldCreatedAt: '2024-03-02T10:00:00.000Z',
    });
    expect(second?.errorMessage).toContain('no file /pacs/Smith/I2.dcm');
    expect(await ledger.studyReports('d1')).toEqual([
      { studyId: 'S1', reportValue: 'John Smith seen 2024-03-02 by Ada Lovelace, MRN: 12345678.' },
      { studyId: 'S2', reportValue: 'Seen 2024-03-02.' },
    ]);
    expect(await ledger.phiFacts('d1')).toEqual([
      {
        studyId: 'S1',
        facts: S1_FACTS,
      },
    ]);
    expect(await ledger.deidMap('d1')).toContainEqual({
      kind: 'patient',
      real: 'P1',
      pseudonym: 'PATX',
    });
    expect(await ledger.deidMap('d1')).toContainEqual({
      kind: 'study',
      real: 'S1',
      pseudonym: 'pseudo-S1',
    });
  });
});
