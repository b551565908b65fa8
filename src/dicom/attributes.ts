import type { DataSet } from 'dicom-parser';
import { EtlError } from '../domain/errors.js';
import { formatTag } from './parse.js';

/**
 * Typed reads of header attributes. dicom-parser's accessors read whatever bytes an element
 * points at (and throw a bare TypeError on a missing multi-value), so the renderer reads through
 * these, which check the element's length and name the attribute in every error.
 */

/** A DS value (PS3.5 6.2): optional sign, digits, optional fraction and exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** A US attribute's first value; undefined when absent or empty. */
export function readUint16(dataSet: DataSet, tag: string, name: string): number | undefined {
  const element = dataSet.elements[tag];
  if (element === undefined || element.length === 0) return undefined;
  if (element.length < 2) {
    throw new EtlError(
      'DICOM_INVALID',
      `${name} ${formatTag(tag)} has ${element.length} byte, expected 2`,
    );
  }
  return dataSet.uint16(tag);
}

/** Splits a text attribute into its trimmed values; undefined when absent or empty. */
function textValues(dataSet: DataSet, tag: string): string[] | undefined {
  const element = dataSet.elements[tag];
  if (element === undefined || element.length === 0) return undefined;
  const text = dataSet.string(tag);
  if (text === undefined || text === '') return undefined;
  return text.split('\\').map((value) => value.trim());
}

/** A multi-valued text attribute's values (e.g. Image Type); undefined when absent or empty. */
export function readStrings(dataSet: DataSet, tag: string): string[] | undefined {
  return textValues(dataSet, tag);
}

/** A CS/LO/UI attribute's first value. */
export function readString(dataSet: DataSet, tag: string): string | undefined {
  return textValues(dataSet, tag)?.[0];
}

/** A DS attribute's values, NaN where a value is not a decimal number. */
export function readDecimals(dataSet: DataSet, tag: string): number[] | undefined {
  return textValues(dataSet, tag)?.map((value) => (DECIMAL.test(value) ? Number(value) : NaN));
}

/** A DS attribute whose first value must be a number when present. */
export function readDecimal(dataSet: DataSet, tag: string, name: string): number | undefined {
  const values = readDecimals(dataSet, tag);
  if (values === undefined) return undefined;
  const [first] = values;
  if (first === undefined || !Number.isFinite(first)) {
    throw new EtlError(
      'DICOM_INVALID',
      `${name} ${formatTag(tag)} is ${JSON.stringify(dataSet.string(tag))}, expected a decimal number`,
    );
  }
  return first;
}

/** An IS attribute whose first value must be an integer when present. */
export function readInteger(dataSet: DataSet, tag: string, name: string): number | undefined {
  const first = textValues(dataSet, tag)?.[0];
  if (first === undefined) return undefined;
  if (!INTEGER.test(first)) {
    throw new EtlError(
      'DICOM_INVALID',
      `${name} ${formatTag(tag)} is ${JSON.stringify(first)}, expected an integer`,
    );
  }
  return Number(first);
}
