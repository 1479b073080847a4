import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart, Testing } from 'cdk8s';
import { K8sObject } from './manifest';

/**
 * An app for tests, which render with `Testing.synth` and never write. cdk8s's `testApp()` makes a new directory
 * in the system's temporary directory for every app and never removes it: tens of thousands per run of the suite.
 */
export function testApp(): App {
  return new App({ outdir: path.join(os.tmpdir(), 'obs-canary-test-app-never-written') });
}

/** A chart in namespace `observability`, as the constructs expect. */
export function testChart(namespace = 'observability'): Chart {
  return new Chart(testApp(), 'test', { namespace, disableResourceNameHashes: true });
}

/** Synthesizes a chart to plain objects. */
export function synth(chart: Chart): K8sObject[] {
  return Testing.synth(chart) as K8sObject[];
}
