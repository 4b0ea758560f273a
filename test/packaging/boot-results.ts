/**
 * What the boot tests' driver (boot-driver.ts) found, as the mocha suite
 * (boot.test.ts) reads it: every command's end, every bounded wait, the
 * values it looked at. Written again after each record, so that a driver
 * stopped at its time bound still says how far it came.
 */
import * as fs from 'node:fs';
import type { Step } from './container';

export interface WaitRecord {
  met: boolean;
  /** How long it took, or the bound when not met. */
  ms: number;
  /** The last state seen, for the failure message. */
  last: string;
}

export interface BootResults {
  steps: Record<string, Step>;
  waits: Record<string, WaitRecord>;
  facts: Record<string, unknown>;
  /** A part (`cloud-init`, `services`...) that could not go on, and why: its later records are absent. */
  stopped: Record<string, string>;
  /** The machine cannot boot the root at all (systemd-nspawn, cgroups, overlayfs): why. */
  cannotBoot?: string;
  /** Console output of each container, for failure messages. */
  consoles: Record<string, string>;
  ms: number;
}

export class Recorder {
  readonly results: BootResults = { steps: {}, waits: {}, facts: {}, stopped: {}, consoles: {}, ms: 0 };
  private readonly start = Date.now();

  constructor(private readonly file: string) {
    this.save();
  }

  step(name: string, s: Step): Step {
    this.results.steps[name] = s;
    this.save();
    return s;
  }

  wait(name: string, w: WaitRecord): boolean {
    this.results.waits[name] = w;
    this.save();
    return w.met;
  }

  fact(name: string, value: unknown): void {
    this.results.facts[name] = value;
    this.save();
  }

  stopped(part: string, why: string): void {
    this.results.stopped[part] = why;
    this.save();
  }

  save(): void {
    this.results.ms = Date.now() - this.start;
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(this.results, null, 1));
    fs.renameSync(`${this.file}.tmp`, this.file);
  }
}

export function readResults(file: string): BootResults {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as BootResults;
}
