import { describe, expect, it } from 'vitest';
import { normaliseView } from '../../../src/dataset/image-view.js';
import type { InstanceAttributes } from '../../../src/domain/dataset.js';
import { datasetRow } from './dataset-rows.js';

const BLANK: InstanceAttributes = {
  ...datasetRow().attributes!,
  viewPosition: null,
  seriesDescription: null,
  viewCode: null,
  patientOrientation: null,
};
const view = (overrides: Partial<InstanceAttributes>) => normaliseView({ ...BLANK, ...overrides });

describe('normaliseView', () => {
  it('takes View Position first, its defined terms and the usual variants', () => {
    expect(view({ viewPosition: 'PA', seriesDescription: 'CHEST AP' })).toEqual({
      view: 'PA',
      source: 'view_position',
    });
    expect(view({ viewPosition: 'ap' }).view).toBe('AP');
    expect(view({ viewPosition: 'AP SUPINE' }).view).toBe('AP');
    expect(view({ viewPosition: 'LATERAL' }).view).toBe('LATERAL');
    expect(view({ viewPosition: 'LAT' }).view).toBe('LATERAL');
    expect(view({ viewPosition: 'LL' }).view).toBe('LL');
    expect(view({ viewPosition: 'RLD' }).view).toBe('RLD');
    expect(view({ viewPosition: 'MLO' }).view).toBe('MLO');
  });

  it('then the View Code Sequence, by meaning or by the old SNOMED code', () => {
    expect(view({ viewCode: 'postero-anterior' })).toEqual({ view: 'PA', source: 'view_code' });
    expect(view({ viewCode: 'Antero-Posterior' }).view).toBe('AP');
    expect(view({ viewCode: 'left lateral' }).view).toBe('LL');
    expect(view({ viewCode: 'left lateral decubitus' }).view).toBe('LLD');
    expect(view({ viewCode: 'R-10232' }).view).toBe('RL');
    expect(view({ viewCode: 'lateral' }).view).toBe('LATERAL');
    // A View Position the table does not know falls through to the next field.
    expect(view({ viewPosition: 'XYZ', viewCode: 'medio-lateral oblique' }).view).toBe('MLO');
  });

  it('then Patient Orientation: frontal or lateral, refined by a description that agrees', () => {
    expect(view({ patientOrientation: 'P\\F' })).toEqual({
      view: 'LATERAL',
      source: 'patient_orientation',
    });
    expect(view({ patientOrientation: 'L\\F' }).view).toBe('FRONTAL');
    expect(view({ patientOrientation: 'L\\F', seriesDescription: 'Chest PA erect' })).toEqual({
      view: 'PA',
      source: 'series_description',
    });
    expect(view({ patientOrientation: 'A\\F', seriesDescription: 'LEFT LATERAL' }).view).toBe('LL');
    // A description against the geometry loses to it.
    expect(view({ patientOrientation: 'A\\F', seriesDescription: 'CHEST PA' }).view).toBe(
      'LATERAL',
    );
  });

  it('then a series description that names one view, and nothing for two', () => {
    expect(view({ seriesDescription: 'CHEST PORTABLE' })).toEqual({
      view: 'AP',
      source: 'series_description',
    });
    expect(view({ seriesDescription: 'Thorax p.a.' }).view).toBe('PA');
    expect(view({ seriesDescription: 'Chest Lat' }).view).toBe('LATERAL');
    expect(view({ seriesDescription: 'CHEST PA AND LATERAL' }).view).toBeNull();
    expect(view({ seriesDescription: 'PAEDIATRIC CHEST' }).view).toBeNull();
    expect(view({ seriesDescription: 'CT THORAX' }).view).toBeNull();
  });

  it('stays unknown without a field that says it, or without a header', () => {
    expect(view({})).toEqual({ view: null, source: null });
    expect(normaliseView(null)).toEqual({ view: null, source: null });
    // Rows recorded before the view code and orientation were read lack both keys.
    const older: InstanceAttributes = { ...BLANK, seriesDescription: 'AP' };
    delete older.viewCode;
    delete older.patientOrientation;
    expect(normaliseView(older).view).toBe('AP');
  });
});
