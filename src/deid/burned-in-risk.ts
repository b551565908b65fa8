import type { InstanceAttributes } from '../domain/dataset.js';
import type { Exclusion } from '../domain/exclusions.js';

/**
 * Whether an image may carry patient data burned into its pixels, which header
 * de-identification cannot remove (and this tool does not detect by OCR). Decided from the
 * header alone, as PS3.15 E.1.1 leaves it to the de-identifier: the item is then left out of a
 * de-identified dataset with reason BURNED_IN_RISK (--deid-quarantine, on by default).
 */

/** Secondary Capture Image Storage and its multi-frame variants (PS3.4 B.5). */
const SECONDARY_CAPTURE_SOP_CLASSES = new Set([
  '1.2.840.10008.5.1.4.1.1.7',
  '1.2.840.10008.5.1.4.1.1.7.1',
  '1.2.840.10008.5.1.4.1.1.7.2',
  '1.2.840.10008.5.1.4.1.1.7.3',
  '1.2.840.10008.5.1.4.1.1.7.4',
]);

/** Modalities whose images commonly carry burned-in annotation: ultrasound, secondary capture. */
const RISKY_MODALITIES = new Set(['US', 'SC']);

/** The first reason an image is at risk (its detail names the header fact), or null. */
export function burnedInRisk(attributes: InstanceAttributes): Exclusion | null {
  const risk = (detail: string): Exclusion => ({ reason: 'BURNED_IN_RISK', detail });
  if (attributes.burnedInAnnotation?.toUpperCase() === 'YES') {
    return risk('Burned In Annotation (0028,0301) is YES');
  }
  if (
    attributes.sopClassUid !== null &&
    SECONDARY_CAPTURE_SOP_CLASSES.has(attributes.sopClassUid)
  ) {
    return risk(`SOP Class ${attributes.sopClassUid} is a secondary capture`);
  }
  const modality = attributes.modality?.toUpperCase() ?? null;
  if (modality !== null && RISKY_MODALITIES.has(modality)) {
    return risk(`modality ${modality} often carries burned-in text`);
  }
  if (attributes.imageType[0] === 'DERIVED' && attributes.imageType[1] === 'SECONDARY') {
    return risk('Image Type (0008,0008) is DERIVED\\SECONDARY (a screenshot or reformat)');
  }
  return null;
}
