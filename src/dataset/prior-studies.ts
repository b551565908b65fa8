/**
 * Each study's prior: the same patient's latest earlier study in the dataset, for samples that
 * compare with it (MAIRA-2's prior frontal view and report, CheXinstruct's progression tasks).
 * Computed from the frozen selection's rows alone, so every rerun and every worker links the
 * same pairs. A de-identified run links through the pseudonyms and the shifted dates: one
 * patient's dates move by one offset, so the intervals are the real ones.
 */

export interface DatedStudy {
  studyId: string;
  patientId: string;
  /** Study Date as stored, YYYYMMDD; a study without a usable date has no prior and is none. */
  studyDate: string | null;
}

export interface PriorStudy {
  studyId: string;
  /** Whole days from the prior's date to this study's date, at least 1. */
  intervalDays: number;
}

const DAY_MS = 86_400_000;

/** Days since 1970 of a YYYYMMDD date, null when it is not a real calendar date. */
function dayNumber(date: string | null): number | null {
  const match = date === null ? null : /^(\d{4})(\d{2})(\d{2})$/.exec(date.trim());
  if (match === null) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const time = Date.UTC(year, month - 1, day);
  const back = new Date(time);
  // Date.UTC rolls 20240231 over into March: such a date is not one.
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return null;
  return time / DAY_MS;
}

/**
 * The prior of every study that has one. Studies of one patient on the same day are not each
 * other's prior (the order within a day is not known); of two earlier studies on one day, the
 * one with the larger id is taken, so that the choice does not depend on the rows' order.
 */
export function priorStudies(studies: readonly DatedStudy[]): Map<string, PriorStudy> {
  const byPatient = new Map<string, { studyId: string; day: number }[]>();
  for (const study of studies) {
    const day = dayNumber(study.studyDate);
    if (day === null) continue;
    const list = byPatient.get(study.patientId) ?? [];
    list.push({ studyId: study.studyId, day });
    byPatient.set(study.patientId, list);
  }
  const priors = new Map<string, PriorStudy>();
  for (const list of byPatient.values()) {
    list.sort((a, b) => a.day - b.day || (a.studyId < b.studyId ? -1 : 1));
    for (let index = 0; index < list.length; index += 1) {
      const current = list[index]!;
      let earlier = index - 1;
      while (earlier >= 0 && list[earlier]!.day === current.day) earlier -= 1;
      if (earlier < 0) continue;
      const prior = list[earlier]!;
      priors.set(current.studyId, {
        studyId: prior.studyId,
        intervalDays: current.day - prior.day,
      });
    }
  }
  return priors;
}
