import type { ErrorCode } from './errors.js';
import type { Exclusion } from './exclusions.js';
import type { RenderRecipe } from './render.js';

/** One report field of a study, as the selection query returns it. */
export interface ReportField {
  value: string;
  /** ISO 8601, or null when the PACS has no timestamp. */
  createdAt: string | null;
}

/** Where an instance sits in the PACS and where its file is, as the selection query says. */
interface InstanceLocation {
  studyId: string;
  seriesId: string;
  seriesNumber: number | null;
  instanceId: string;
  instanceNumber: number | null;
  filePath: string | null;
  fileUrl: string | null;
}

/** One selected instance with its report fields, as the query returned them. */
export interface SelectedInstance extends InstanceLocation {
  reportFields: ReportField[];
}

/** A study's report as planning freezes it: its report fields joined into one text. */
export interface StudyReport {
  studyId: string;
  /** The fields' text in field_created_at order (undated first), separated by a blank line. */
  reportValue: string;
  /** The latest field_created_at, or null when no field is dated. */
  fieldCreatedAt: string | null;
  fieldCount: number;
}

/** Final state of one selected instance, as the ledger knows it: one row of the dataset CSV. */
export interface DatasetRow extends InstanceLocation {
  /** Position in the frozen selection (0-based); the CSV is written in this order. */
  ordinal: number;
  /** The study's report fields, aggregated in field_created_at order. */
  reportValue: string;
  /** ISO 8601 timestamp of the study's latest report field, null when it has none. */
  fieldCreatedAt: string | null;
  /** `excluded`: kept out by a quality gate; nothing of it is in the dataset but its row. */
  status: 'delivered' | 'failed' | 'excluded';
  /** True when the DICOM file was fetched and stored at `dicomKey`. */
  downloaded: boolean;
  /** Object keys relative to the dataset prefix, e.g. `dicom-files/123.dcm`. */
  dicomKey: string | null;
  /** The rendered images (one, or one per frame), keys relative to the dataset prefix. */
  images: { frame: number; key: string; size: number; sha256: string }[];
  dicomSize: number | null;
  dicomSha256: string | null;
  errorCode: ErrorCode | null;
  errorMessage: string | null;
  recipe: RenderRecipe | null;
  /** Header facts of the delivered DICOM; null when it was not fetched or not readable. */
  attributes: InstanceAttributes | null;
  /** Why a quality gate excluded the instance; null unless status is `excluded`. */
  exclusion: Exclusion | null;
}

/** What the dataset card (README-dataset.md) says about the run that built it. */
export interface DatasetDescription {
  runId: string;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string;
  /** Source as shown to users: never carries a password. */
  source: string;
  destination: string;
  query: { name: string; sha256: string; text: string };
  /** Resolved selection and processing parameters, e.g. studies, seed, page size. */
  parameters: Record<string, string | number | boolean>;
  counts: {
    studies: number;
    instances: number;
    delivered: number;
    failed: number;
    /** Kept out by a quality gate. */
    excluded: number;
    /** Failed instances by error code. */
    failuresByCode: Partial<Record<ErrorCode, number>>;
    dicomBytes: number;
    imageBytes: number;
  };
  toolVersion: string;
  /** How the images are stored: format, and one image per instance or one per frame. */
  images: { format: 'jpeg' | 'png'; everyFrame: boolean };
  /** How the data was de-identified; absent when it was not. */
  deidentification?: DeidentificationDescription;
}

/** De-identification as the dataset card states it. */
export interface DeidentificationDescription {
  /** The profile and the edition of PS3.15 it follows. */
  profile: string;
  /** The profile options applied, by their CID 7050 meaning. */
  options: string[];
  /** Tags kept or removed against the profile (--deid-keep, --deid-remove), GGGG,EEEE. */
  keep: string[];
  remove: string[];
  /** Entries of the staff name list. */
  staffNames: number;
  /** Whether images at risk of burned-in text were left out. */
  quarantine: boolean;
  /** Replacements made in the reports, per scrubber rule. */
  scrubCounts: Record<string, number>;
}

/**
 * Facts read from an instance's DICOM header by the render worker, kept in the ledger
 * (`eden_items.attributes`) for the dataset files (metadata.jsonl, the card), the quality
 * gates and the de-identification quarantine. Values are those of the delivered DICOM:
 * pseudonymised when the run de-identifies. Null when the header lacks the attribute.
 */
export interface InstanceAttributes {
  /** SOP Class UID (0008,0016). */
  sopClassUid: string | null;
  /** Modality (0008,0060), e.g. CR, DX, CT. */
  modality: string | null;
  /** Image Type (0008,0008) values, e.g. ['ORIGINAL', 'PRIMARY']; empty when absent. */
  imageType: string[];
  /** Patient ID (0010,0020). */
  patientId: string | null;
  /** Patient's Sex (0010,0040): M, F or O. */
  patientSex: string | null;
  /** Patient's Age (0010,1010) as stored (AS), e.g. 045Y. */
  patientAge: string | null;
  /** Study Date (0008,0020), YYYYMMDD. */
  studyDate: string | null;
  /** View Position (0018,5101), e.g. PA, AP, LATERAL. */
  viewPosition: string | null;
  /** Image Laterality (0020,0062), else Laterality (0020,0060): R, L, B or U. */
  laterality: string | null;
  /** Body Part Examined (0018,0015). */
  bodyPart: string | null;
  /** Burned In Annotation (0028,0301): YES or NO. */
  burnedInAnnotation: string | null;
  /** Series Description (0008,103E). */
  seriesDescription: string | null;
  /**
   * View Code Sequence (0054,0220), its first item: Code Meaning, else Code Value (e.g.
   * `postero-anterior`, `R-10214`). Absent from rows recorded before it was read.
   */
  viewCode?: string | null;
  /** Patient Orientation (0020,0020) as stored, e.g. `L\F`. Absent as viewCode is. */
  patientOrientation?: string | null;
}
