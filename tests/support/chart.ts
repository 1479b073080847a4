import { Chart, Testing } from 'cdk8s';
import { K8sObject } from './manifest';

/** A chart in namespace `observability`, as the constructs expect. */
export function testChart(namespace = 'observability'): Chart {
  return new Chart(Testing.app(), 'test', { namespace, disableResourceNameHashes: true });
}

/** Synthesizes a chart to plain objects. */
export function synth(chart: Chart): K8sObject[] {
  return Testing.synth(chart) as K8sObject[];
}
