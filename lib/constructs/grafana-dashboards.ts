import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { show, validationError } from '../errors';
import { walkProperties } from '../private/walk';

/** A dashboard to provision. */
export interface GrafanaDashboardOptions {
  /** Folder the dashboard appears in. */
  readonly folder: string;
  /** The dashboard model (as exported by Grafana or built with the foundation SDK); it must carry a `uid`. */
  readonly dashboard: { readonly uid?: string; readonly title?: string; readonly [key: string]: unknown };
}

/** Grafana's uid rule, for dashboards and datasources. */
export const GRAFANA_UID = /^[a-zA-Z0-9_-]{1,40}$/;
// at most 52 characters: the folder's volume, `dashboards-<folder slug>`, must be a DNS label
const FOLDER = /^[A-Za-z0-9][A-Za-z0-9 _-]{0,51}$/;
const VOLUME_PREFIX = 'dashboards';
// ConfigMaps are capped at 1 MiB; leave room for metadata
const MAX_CONFIGMAP_BYTES = 900 * 1024;

/**
 * Dashboards provisioned from code: one ConfigMap per folder (`<prefix>-dashboards-<folder>`), each mounted whole as
 * the folder's directory under the directory that Grafana's file provider reads with folders from the directory tree.
 *
 * Whole-ConfigMap mounts, not a projected volume with items: the kubelet updates a mounted ConfigMap in place, so a
 * changed dashboard, or one added to a folder that exists, reaches Grafana through the provider's polling without
 * touching the pod template (only a new folder adds a volume); and each folder is a real directory, which Grafana's
 * provider walks (`filepath.Walk` does not follow the symlinked directories that a projected `<folder>/<file>` item
 * becomes: kubernetes pkg/volume/util/atomic_writer.go createUserVisibleFiles; grafana/grafana
 * pkg/services/provisioning/dashboards/file_reader.go walkDisk).
 */
export class GrafanaDashboards {
  private readonly folders = new Map<string, Map<string, string>>();

  /**
   * @param scope where the ConfigMaps are created (the Grafana construct)
   * @param prefix the start of their names
   */
  public constructor(private readonly scope: Construct, private readonly prefix: string) {}

  /**
   * Adds a dashboard to its folder.
   *
   * @throws if the dashboard has no valid uid, the uid is taken, or the folder's ConfigMap would exceed 900 KiB
   */
  public add(options: GrafanaDashboardOptions): void {
    const uid = options.dashboard.uid;
    if (uid === undefined || !GRAFANA_UID.test(uid)) {
      throw validationError(this.scope, `dashboard uid must match ${GRAFANA_UID.source}, got ${show(uid)}`);
    }
    if (!FOLDER.test(options.folder)) {
      throw validationError(this.scope, `dashboard folder must match ${FOLDER.source}, got ${show(options.folder)}`);
    }
    if ([...this.folders.values()].some(f => f.has(`${uid}.json`))) {
      throw validationError(this.scope, `a dashboard with uid ${show(uid)} is already provisioned`);
    }
    const files = this.folders.get(options.folder) ?? new Map<string, string>();
    files.set(`${uid}.json`, JSON.stringify(options.dashboard, undefined, 1));
    const bytes = [...files.values()].reduce((sum, json) => sum + Buffer.byteLength(json), 0);
    if (bytes > MAX_CONFIGMAP_BYTES) {
      throw validationError(this.scope, `dashboards of folder ${show(options.folder)} would take ${bytes} bytes, `
        + `more than a ConfigMap holds (${MAX_CONFIGMAP_BYTES}); use another folder`);
    }
    if (!this.folders.has(options.folder)) {
      this.folders.set(options.folder, files);
      new k8s.KubeConfigMap(this.scope, `Dashboards${this.slug(options.folder)}`, {
        metadata: { name: this.configMapName(options.folder), labels: { 'grafana.com/folder': this.slug(options.folder) } },
        data: Lazy.any({ produce: () => Object.fromEntries(files) }),
      });
    }
  }

  /** One volume per folder, or one empty volume when there are no dashboards. */
  public volumes(): k8s.Volume[] {
    if (this.folders.size === 0) return [{ name: VOLUME_PREFIX, emptyDir: {} }];
    return [...this.folders.keys()].map(folder => ({ name: this.volumeName(folder), configMap: { name: this.configMapName(folder) } }));
  }

  /**
   * The mounts of {@link volumes}: each folder at `<dir>/<folder>`, read-only. Neither depends on the dashboards'
   * content or number, only on the folders, so a changed dashboard never changes the pod template.
   */
  public volumeMounts(dir: string): k8s.VolumeMount[] {
    if (this.folders.size === 0) return [{ name: VOLUME_PREFIX, mountPath: dir, readOnly: true }];
    return [...this.folders.keys()].map(folder => ({ name: this.volumeName(folder), mountPath: `${dir}/${folder}`, readOnly: true }));
  }

  /** Dashboards that use a datasource uid outside `provisioned`. */
  public danglingDatasources(provisioned: ReadonlySet<string>): string[] {
    const errors: string[] = [];
    for (const [folder, files] of this.folders) {
      for (const [file, json] of files) {
        for (const target of dashboardDatasourceUids(JSON.parse(json))) {
          if (!provisioned.has(target)) errors.push(`dashboard ${folder}/${file} uses datasource uid ${show(target)}, which is not provisioned`);
        }
      }
    }
    return errors;
  }

  private slug(folder: string): string {
    return folder.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  }

  private configMapName(folder: string): string {
    return `${this.prefix}-dashboards-${this.slug(folder)}`;
  }

  private volumeName(folder: string): string {
    return `${VOLUME_PREFIX}-${this.slug(folder)}`;
  }
}

/** Datasource uids a dashboard refers to (`"datasource": { "uid": … }`), ignoring variables such as `${ds}`. */
export function dashboardDatasourceUids(dashboard: unknown): string[] {
  const found = new Set<string>();
  walkProperties(dashboard, (key, inner) => {
    const uid = key === 'datasource' && inner && typeof inner === 'object' ? (inner as { uid?: unknown }).uid : undefined;
    if (typeof uid === 'string' && !uid.startsWith('$') && !uid.startsWith('-- ')) found.add(uid);
  });
  return [...found].sort();
}
