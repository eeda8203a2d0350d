/**
 * The deployment files against each other and against the code: docker-compose.yml, .env.example and
 * the Kubernetes manifests must run the processes the code builds, on the ports they listen on, with
 * exactly the variables their env.ts files read. scripts/check-deploy.sh runs the real tools on them.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type EnvSource } from '../../lib/config/env.js';
import {
  BACKUP,
  COMPONENTS,
  GATEWAY,
  MIGRATE,
  MUST_SET_WHERE_READ,
  RESTORE,
  SHARED_SETTINGS,
  SUBGRAPH_COMPONENTS,
  type EnvContract,
} from './components.js';
import {
  COMPOSE_SECRETS,
  composeEnvironment,
  composeSecrets,
  composeText,
  dependsOn,
  interpolations,
  ofKind,
  quantity,
  readCompose,
  readDotenv,
  readK8s,
  repoPath,
  type ComposeService,
  type Manifest,
  type Yaml,
} from './deploy-files.js';

/** Parses, or fails the test with the ConfigError's list of problems. */
function parseOrExplain(contract: EnvContract, env: EnvSource, where: string): Record<string, unknown> {
  try {
    return contract.parse(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(`${where}: ${error.message}`);
    throw error;
  }
}

function checkEnvAgainstCode(contract: EnvContract, env: Record<string, string>, mustSet: string[], where: string) {
  const parsed = parseOrExplain(contract, env, where);
  const unread = Object.keys(env).filter((name) => !contract.reads(name, env));
  expect(unread, `${where} sets variables its process does not read`).toEqual([]);
  const required = [...mustSet, ...MUST_SET_WHERE_READ.filter((name) => contract.reads(name, env))];
  // A secret may be given as a file instead (`<NAME>_FILE`), which the parse above has read.
  const missing = required.filter((name) => !env[name] && !env[`${name}_FILE`]);
  expect(missing, `${where} leaves unset what a deployment needs`).toEqual([]);
  if ('MIGRATE_ON_START' in env) expect(parsed.MIGRATE_ON_START, `${where}: migrations run as a step`).toBe(false);
  if ('HOST' in env) expect(env.HOST, `${where} must listen on every interface`).toBe('0.0.0.0');
  if (env.PORT !== undefined) {
    expect(parsed.PORT, `${where}: PORT`).toBe(Number(env.PORT));
    const { PORT: _, ...withoutPort } = env;
    expect(contract.parse(withoutPort).PORT, `${where}: PORT is the code's default`).toBe(Number(env.PORT));
  }
  return parsed;
}

/** Every process's parsed settings agree on what they share (one database, one queue, one secret…). */
function expectSharedSettingsAgree(parsedByProcess: Record<string, Record<string, unknown>>, where: string) {
  for (const setting of SHARED_SETTINGS) {
    const values = Object.entries(parsedByProcess)
      .filter(([, parsed]) => setting in parsed)
      .map(([name, parsed]) => `${name}=${String(parsed[setting])}`);
    const distinct = new Set(values.map((v) => v.slice(v.indexOf('=') + 1)));
    expect(distinct.size, `${where}: ${setting} differs: ${values.join(', ')}`).toBeLessThanOrEqual(1);
  }
}

const envExample = readDotenv(repoPath('.env.example'));
const ONE_SHOT = 'service_completed_successfully';

describe('.env.example', () => {
  it('lists exactly the variables docker-compose.yml interpolates, with the same defaults', () => {
    const used = interpolations(composeText());
    expect(Object.keys(envExample).sort()).toEqual([...new Set(used.map((u) => u.name))].sort());
    for (const { name, fallback, required } of used) {
      if (required) continue;
      expect(
        fallback,
        `\${${name}} in docker-compose.yml needs a default (":-") or must be required (":?")`,
      ).toBeDefined();
      expect(fallback, `${name}: compose default vs .env.example`).toBe(envExample[name]);
    }
  });

  it('leaves every secret empty, and compose requires each one (no public fallback)', () => {
    const used = interpolations(composeText());
    const required = [...new Set(used.filter((u) => u.required).map((u) => u.name))].sort();
    expect(required).toEqual([...COMPOSE_SECRETS].sort());
    for (const name of COMPOSE_SECRETS) {
      expect(envExample[name], `${name} in .env.example`).toBe('');
      expect(
        used.filter((u) => u.name === name && !u.required),
        `${name} has a default somewhere`,
      ).toEqual([]);
    }
    expect(() => readCompose({})).toThrow(/required variable \w+ is missing a value: set \w+ in \.env/);
  });
});

describe('docker-compose.yml', () => {
  const compose = readCompose(composeSecrets);
  const services = compose.services;
  const oneShots = Object.keys(services).filter((name) => services[name]!.restart === 'no');

  it('runs the data services, the migration and every process of the platform', () => {
    for (const name of ['postgres', 'mongo', 'redis', 'rabbitmq', 'minio', 'minio-init', 'migrate']) {
      expect(services, name).toHaveProperty([name]);
    }
    for (const component of COMPONENTS) expect(services, component.name).toHaveProperty([component.name]);
    expect(oneShots.sort()).toEqual(['migrate', 'minio-init']);
  });

  it('gives every long-running service a healthcheck, and waits on the right condition', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image ?? service.build, `${name}: image or build`).toBeTruthy();
      if (!oneShots.includes(name)) {
        expect(service.healthcheck?.disable, `${name}: healthcheck`).not.toBe(true);
        expect(service.healthcheck?.test?.length, `${name}: healthcheck test`).toBeGreaterThan(0);
      }
      for (const [target, condition] of Object.entries(dependsOn(service))) {
        expect(services, `${name} depends on ${target}`).toHaveProperty([target]);
        const expected = oneShots.includes(target) ? ONE_SHOT : 'service_healthy';
        expect(condition, `${name} → ${target}`).toBe(expected);
      }
    }
  });

  it('starts nothing of ours before the migration, and the gateway after every subgraph', () => {
    for (const component of COMPONENTS.filter((c) => c !== GATEWAY)) {
      expect(dependsOn(services[component.name]!).migrate, component.name).toBe(ONE_SHOT);
    }
    for (const subgraph of SUBGRAPH_COMPONENTS) {
      expect(dependsOn(services.gateway!)[subgraph.name], `gateway → ${subgraph.name}`).toBe('service_healthy');
    }
    expect(dependsOn(services.migrate!).postgres).toBe('service_healthy');
  });

  it('keeps the data of the stores in named volumes', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const named = (service: ComposeService) =>
      (service.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '')));
    for (const name of ['postgres', 'mongo', 'rabbitmq', 'minio']) {
      expect(
        named(services[name]!).filter((v) => declared.includes(v)),
        name,
      ).toHaveLength(1);
    }
    for (const [name, service] of Object.entries(services)) {
      for (const volume of named(service).filter((v) => !v.startsWith('.') && !v.startsWith('/'))) {
        expect(declared, `${name} mounts ${volume}`).toContain(volume);
      }
    }
  });

  it('runs one image, building it from the Dockerfile', () => {
    const ours = [...COMPONENTS.map((c) => c.name), 'migrate'];
    const images = new Set(ours.map((name) => services[name]!.image));
    expect([...images]).toEqual([envExample.AI_CODE_IMAGE]);
    for (const name of ours) expect(services[name]!.build, name).toBeTruthy();
  });

  it.each(COMPONENTS.map((c) => [c.name, c] as const))(
    '%s: entry point, port, healthcheck and environment match the code',
    async (name, component) => {
      const service = services[name]!;
      expect(service.command).toEqual(['node', ...(component.nodeFlags ?? []), component.main]);
      const env = composeEnvironment(service);
      expect(env.PORT, `${name}: PORT`).toBe(String(component.port));
      expect(service.healthcheck!.test!.join(' ')).toMatch(/\/readyz/);
      const contract = await component.contract();
      if (!contract) return; // written concurrently: checked once its env.ts exists
      checkEnvAgainstCode(contract, env, component.mustSet, `compose ${name}`);
    },
  );

  it('migrate: runs the migration script with the same database', () => {
    const env = composeEnvironment(services.migrate!);
    expect(services.migrate!.command).toEqual(['node', MIGRATE.main]);
    checkEnvAgainstCode(MIGRATE.contract, env, MIGRATE.mustSet, 'compose migrate');
  });

  it('gateway: publishes its port and reaches each subgraph at its service and PORT', () => {
    const env = composeEnvironment(services.gateway!);
    const published = (services.gateway!.ports ?? []).map((p) =>
      typeof p === 'string' ? p.split(':').at(-1) : p.target,
    );
    expect(published.map(String)).toContain(String(GATEWAY.port));
    for (const subgraph of SUBGRAPH_COMPONENTS) {
      const port = composeEnvironment(services[subgraph.name]!).PORT;
      expect(env[`SUBGRAPH_${subgraph.name.toUpperCase()}_URL`]).toBe(`http://${subgraph.name}:${port}/graphql`);
    }
  });

  it('points every service at the data services with their own credentials and one bucket', async () => {
    const parsed: Record<string, Record<string, unknown>> = {};
    for (const component of COMPONENTS) {
      const contract = await component.contract();
      if (contract) parsed[component.name] = contract.parse(composeEnvironment(services[component.name]!));
    }
    parsed.migrate = MIGRATE.contract.parse(composeEnvironment(services.migrate!));
    expectSharedSettingsAgree(parsed, 'compose');

    const postgres = composeEnvironment(services.postgres!);
    const database = new URL(String(parsed.users!.DATABASE_URL));
    expect([database.hostname, database.username, database.password, database.pathname]).toEqual([
      'postgres',
      postgres.POSTGRES_USER,
      postgres.POSTGRES_PASSWORD,
      `/${postgres.POSTGRES_DB}`,
    ]);
    const mongo = composeEnvironment(services.mongo!);
    const mongoUrl = new URL(String(parsed.projects!.MONGO_URL));
    expect([mongoUrl.hostname, mongoUrl.username, mongoUrl.password]).toEqual([
      'mongo',
      mongo.MONGO_INITDB_ROOT_USERNAME,
      mongo.MONGO_INITDB_ROOT_PASSWORD,
    ]);
    const rabbit = composeEnvironment(services.rabbitmq!);
    const amqp = new URL(String(parsed.inference!.AMQP_URL));
    expect([amqp.hostname, amqp.username, amqp.password]).toEqual([
      'rabbitmq',
      rabbit.RABBITMQ_DEFAULT_USER,
      rabbit.RABBITMQ_DEFAULT_PASS,
    ]);
    const minio = composeEnvironment(services.minio!);
    expect([parsed.models!.S3_ACCESS_KEY_ID, parsed.models!.S3_SECRET_ACCESS_KEY]).toEqual([
      minio.MINIO_ROOT_USER,
      minio.MINIO_ROOT_PASSWORD,
    ]);
    expect(new URL(String(parsed.models!.S3_ENDPOINT)).hostname).toBe('minio');
    expect(services['minio-init']!.command).toContain(`local/${String(parsed.models!.S3_BUCKET)}`);
    expect(new URL(String(parsed.inference!.REDIS_URL)).hostname).toBe('redis');
  });
});

describe('Kubernetes manifests (deploy/k8s)', () => {
  const { kustomizations, manifests } = readK8s();
  const deployments = ofKind(manifests, 'Deployment');
  const byName = (kind: string, name: string) => ofKind(manifests, kind).find((m) => m.metadata.name === name);
  const spec = (m: Manifest) => m.spec as Yaml;
  /** A CronJob's pods are those of its Job template. */
  const podSpec = (m: Manifest) =>
    ((m.kind === 'CronJob' ? ((spec(m).jobTemplate as Yaml).spec as Yaml) : spec(m)).template as Yaml).spec as Yaml;
  const podLabels = (m: Manifest) => ((spec(m).template as Yaml).metadata as Yaml).labels as Record<string, string>;
  const containers = (m: Manifest) => podSpec(m).containers as Yaml[];
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

  /** ConfigMap and Secret data by name (Secret `data` decoded). */
  const configData = (kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined => {
    const found = byName(kind, name);
    if (!found) return undefined;
    const data = Object.entries((found.data as Record<string, string> | undefined) ?? {}).map(([k, v]) => [
      k,
      kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : String(v),
    ]);
    return { ...Object.fromEntries(data), ...((found.stringData as Record<string, string> | undefined) ?? {}) };
  };

  /** The Secrets a pod mounts as files (`secret` volumes and `projected` ones' secret sources), by volume name. */
  const secretVolumes = (pod: Yaml): Map<string, string[]> =>
    new Map(
      ((pod.volumes as Yaml[] | undefined) ?? []).flatMap((volume) => {
        const single = (volume.secret as Yaml | undefined)?.secretName;
        const projected = (((volume.projected as Yaml | undefined)?.sources as Yaml[] | undefined) ?? [])
          .map((source) => (source.secret as Yaml | undefined)?.name)
          .filter((name) => name !== undefined);
        const names = [...(single ? [single] : []), ...projected].map(String);
        return names.length > 0 ? [[String(volume.name), names] as const] : [];
      }),
    );
  const workloads = [...deployments, ...ofKind(manifests, 'Job'), ...ofKind(manifests, 'CronJob')];
  const podOf = new Map(workloads.flatMap((w) => containers(w).map((c) => [c, podSpec(w)] as const)));
  /** Where the mounted Secrets' files are written for the processes' env parsers to read. */
  const secretFiles = mkdtempSync(join(tmpdir(), 'k8s-secret-files-'));

  /**
   * A container's environment as the kubelet builds it: envFrom in order, then env. A variable
   * naming a file of a mounted Secret (`DATABASE_URL_FILE=/run/secrets/ai-code/DATABASE_URL`) points
   * instead at a copy of that file written here, as the kubelet would mount it, which the process's
   * parser then reads (the `<NAME>_FILE` convention); a key no mounted Secret has is an error.
   */
  const containerEnv = (container: Yaml): Record<string, string> => {
    const env: Record<string, string> = {};
    const pod = podOf.get(container);
    const volumes = pod ? secretVolumes(pod) : new Map<string, string[]>();
    const mounts = ((container.volumeMounts as Yaml[] | undefined) ?? [])
      .filter((mount) => volumes.has(String(mount.name)))
      .map((mount) => ({
        path: String(mount.mountPath).replace(/\/$/, ''),
        secrets: volumes.get(String(mount.name))!,
      }));
    const mountedFile = (path: string): string | undefined => {
      const mount = mounts.find((m) => path.startsWith(`${m.path}/`));
      if (!mount) return undefined;
      const key = path.slice(mount.path.length + 1);
      const value = mount.secrets.map((name) => configData('Secret', name)?.[key]).find((v) => v !== undefined);
      if (value === undefined) throw new Error(`${String(container.name)}: no mounted Secret has ${key} (${path})`);
      const dir = join(secretFiles, String(container.name), mount.path);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, key), value);
      return join(dir, key);
    };
    for (const source of (container.envFrom as Yaml[] | undefined) ?? []) {
      const ref = (source.configMapRef ?? source.secretRef) as { name: string; optional?: boolean };
      const data = configData(source.configMapRef ? 'ConfigMap' : 'Secret', ref.name);
      if (!data && !ref.optional) throw new Error(`${String(container.name)}: envFrom ${ref.name} is not defined`);
      Object.assign(env, data);
    }
    for (const entry of (container.env as Yaml[] | undefined) ?? []) {
      const from = entry.valueFrom as Yaml | undefined;
      const keyRef = (from?.configMapKeyRef ?? from?.secretKeyRef) as { name: string; key: string } | undefined;
      if (keyRef) {
        const value = configData(from!.configMapKeyRef ? 'ConfigMap' : 'Secret', keyRef.name)?.[keyRef.key];
        if (value === undefined) throw new Error(`${String(entry.name)}: ${keyRef.name}/${keyRef.key} is not defined`);
        env[String(entry.name)] = value;
      } else {
        const value = String(entry.value ?? '');
        env[String(entry.name)] = mountedFile(value) ?? value;
      }
    }
    return env;
  };

  it('lists every manifest file in a kustomization, and every listed resource exists', () => {
    expect(kustomizations.length).toBeGreaterThan(0);
    const listed = new Set<string>();
    for (const { dir, spec: kustomization } of kustomizations) {
      for (const resource of (kustomization.resources as string[] | undefined) ?? []) {
        const path = join(dir, resource);
        expect(existsSync(path), `${dir}: ${resource}`).toBe(true);
        listed.add(path);
      }
    }
    for (const file of new Set(manifests.map((m) => repoPath(m.file)))) expect([...listed], file).toContain(file);
  });

  it('gives every object a kind, an apiVersion and a name', () => {
    for (const m of manifests) {
      expect(m.apiVersion, m.file).toBeTruthy();
      expect(m.metadata?.name, `${m.file}: ${m.kind}`).toBeTruthy();
    }
    const keys = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(
      keys.filter((key, i) => keys.indexOf(key) !== i),
      'duplicates',
    ).toEqual([]);
  });

  it('has a Deployment and a Service per process, and a migration Job', () => {
    for (const component of COMPONENTS) {
      expect(byName('Deployment', component.name), component.name).toBeDefined();
      expect(byName('Service', component.name), component.name).toBeDefined();
    }
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(COMPONENTS.map((c) => c.name).sort());
    expect(byName('Job', MIGRATE.name)).toBeDefined();
  });

  it('builds each Deployment soundly: labels, image, ports, probes, resources, a non-root user', () => {
    const image = envExample.AI_CODE_IMAGE!.split(':')[0];
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      const selector = ((spec(deployment).selector as Yaml).matchLabels ?? {}) as Record<string, string>;
      expect(matches(selector, podLabels(deployment)), `${name}: selector vs template labels`).toBe(true);
      expect((podSpec(deployment).securityContext as Yaml | undefined)?.runAsNonRoot, name).toBe(true);
      expect(containers(deployment).length, name).toBeGreaterThan(0);
      for (const container of containers(deployment)) {
        const where = `${name}/${String(container.name)}`;
        expect(String(container.image).split(':')[0], `${where}: image`).toBe(image);
        const ports = (container.ports as Yaml[] | undefined) ?? [];
        expect(ports.length, `${where}: ports`).toBeGreaterThan(0);
        const probePort = (probe: Yaml) => ((probe.httpGet as Yaml).port as string | number) ?? '';
        const portOk = (p: string | number) => ports.some((port) => port.name === p || port.containerPort === p);
        for (const [probe, path] of [
          ['livenessProbe', '/healthz'],
          ['readinessProbe', '/readyz'],
        ] as const) {
          const found = container[probe] as Yaml | undefined;
          expect(found, `${where}: ${probe}`).toBeDefined();
          expect((found!.httpGet as Yaml).path, `${where}: ${probe}`).toBe(path);
          expect(portOk(probePort(found!)), `${where}: ${probe} port`).toBe(true);
        }
        const resources = container.resources as { requests?: Yaml; limits?: Yaml } | undefined;
        for (const resource of ['cpu', 'memory']) {
          const request = resources?.requests?.[resource] as string | undefined;
          const limit = resources?.limits?.[resource] as string | undefined;
          expect(request && limit, `${where}: ${resource} request and limit`).toBeTruthy();
          expect(quantity(request!), `${where}: ${resource} request ≤ limit`).toBeLessThanOrEqual(quantity(limit!));
        }
      }
    }
  });

  it('selects a Deployment with each Service, on a port its container opens', () => {
    for (const service of ofKind(manifests, 'Service')) {
      const selector = (spec(service).selector ?? {}) as Record<string, string>;
      const targets = deployments.filter((d) => matches(selector, podLabels(d)));
      expect(
        targets.map((d) => d.metadata.name),
        `Service ${service.metadata.name}`,
      ).toHaveLength(1);
      const opened = containers(targets[0]!).flatMap((c) => (c.ports as Yaml[] | undefined) ?? []);
      for (const port of spec(service).ports as Yaml[]) {
        const target = port.targetPort ?? port.port;
        const found = opened.find((p) => p.name === target || p.containerPort === target);
        expect(found, `Service ${service.metadata.name}: targetPort ${String(target)}`).toBeDefined();
        expect(port.port, `Service ${service.metadata.name}: same port as the container`).toBe(found!.containerPort);
      }
    }
  });

  it('autoscales gateway, inference and worker, leaving their replica count to the autoscaler', () => {
    const hpas = ofKind(manifests, 'HorizontalPodAutoscaler');
    for (const hpa of hpas) {
      const target = spec(hpa).scaleTargetRef as Yaml;
      expect(target.kind, hpa.metadata.name).toBe('Deployment');
      const deployment = byName('Deployment', String(target.name));
      expect(deployment, `HPA ${hpa.metadata.name} → ${String(target.name)}`).toBeDefined();
      expect(spec(deployment!).replicas, `${String(target.name)}: replicas belongs to the HPA`).toBeUndefined();
      expect(Number(spec(hpa).minReplicas)).toBeLessThanOrEqual(Number(spec(hpa).maxReplicas));
      expect((spec(hpa).metrics as Yaml[]).length, hpa.metadata.name).toBeGreaterThan(0);
    }
    const scaled = hpas.map((h) => String((spec(h).scaleTargetRef as Yaml).name)).sort();
    expect(scaled).toEqual(expect.arrayContaining(['gateway', 'inference', 'worker']));
  });

  it('selects a Deployment with each PodDisruptionBudget', () => {
    for (const pdb of ofKind(manifests, 'PodDisruptionBudget')) {
      const selector = ((spec(pdb).selector as Yaml).matchLabels ?? {}) as Record<string, string>;
      expect(
        deployments.filter((d) => matches(selector, podLabels(d))),
        pdb.metadata.name,
      ).toHaveLength(1);
    }
  });

  it('defines every ConfigMap and Secret a workload refers to', () => {
    for (const workload of workloads) {
      for (const names of secretVolumes(podSpec(workload)).values()) {
        for (const name of names) {
          expect(byName('Secret', name), `${workload.metadata.name}: Secret ${name} (volume)`).toBeDefined();
        }
      }
      for (const container of containers(workload)) {
        for (const source of (container.envFrom as Yaml[] | undefined) ?? []) {
          const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
          const ref = (source.configMapRef ?? source.secretRef) as { name: string };
          expect(byName(kind, ref.name), `${workload.metadata.name}: ${kind} ${ref.name}`).toBeDefined();
        }
      }
    }
    const referenced = new Set(
      workloads.flatMap((w) => [
        ...containers(w).flatMap((c) =>
          ((c.envFrom as Yaml[] | undefined) ?? []).map((s) => {
            const ref = (s.configMapRef ?? s.secretRef) as { name: string };
            return `${s.configMapRef ? 'ConfigMap' : 'Secret'}/${ref.name}`;
          }),
        ),
        ...[...secretVolumes(podSpec(w)).values()].flat().map((name) => `Secret/${name}`),
      ]),
    );
    for (const kind of ['ConfigMap', 'Secret']) {
      for (const m of ofKind(manifests, kind)) {
        expect([...referenced], `${kind} ${m.metadata.name} is used`).toContain(`${kind}/${m.metadata.name}`);
      }
    }
  });

  it('passes secrets as files from a mounted Secret (`<NAME>_FILE`), never as environment values', () => {
    // Optional ones stay in the environment: a `_FILE` variable whose file is missing stops the
    // process, and these may be left out (workload identity for S3; no ADMIN account to create).
    const OPTIONAL = new Set(['ADMIN_PASSWORD', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
    let files = 0;
    for (const workload of workloads) {
      for (const container of containers(workload)) {
        const where = `${workload.metadata.name}/${String(container.name)}`;
        for (const source of (container.envFrom as Yaml[] | undefined) ?? []) {
          const ref = source.secretRef as { name: string } | undefined;
          if (!ref) continue;
          const keys = Object.keys(configData('Secret', ref.name) ?? {});
          expect(
            keys.filter((key) => !OPTIONAL.has(key) && key !== 'ADMIN_EMAIL'),
            `${where}: Secret ${ref.name} in the environment`,
          ).toEqual([]);
        }
        for (const entry of (container.env as Yaml[] | undefined) ?? []) {
          expect(
            (entry.valueFrom as Yaml | undefined)?.secretKeyRef,
            `${where}: ${String(entry.name)}`,
          ).toBeUndefined();
          if (!String(entry.name).endsWith('_FILE')) continue;
          files++;
          const mounted = ((container.volumeMounts as Yaml[] | undefined) ?? []).some(
            (mount) =>
              secretVolumes(podSpec(workload)).has(String(mount.name)) &&
              mount.readOnly === true &&
              String(entry.value).startsWith(`${String(mount.mountPath)}/`),
          );
          expect(mounted, `${where}: ${String(entry.name)} is a file of a Secret mounted read-only`).toBe(true);
        }
      }
    }
    expect(files).toBeGreaterThan(0);
  });

  it.each(COMPONENTS.map((c) => [c.name, c] as const))(
    '%s: entry point, port and environment match the code and the compose file',
    async (name, component) => {
      const container = containers(byName('Deployment', name)!)[0]!;
      const command = ['node', ...(component.nodeFlags ?? []), component.main];
      expect(container.command).toEqual(command);
      expect(readCompose(composeSecrets).services[name]!.command).toEqual(command);
      const env = containerEnv(container);
      expect(env.PORT, `${name}: PORT`).toBe(String(component.port));
      expect((container.ports as Yaml[]).map((p) => p.containerPort)).toEqual([component.port]);
      const contract = await component.contract();
      if (!contract) return; // written concurrently: checked once its env.ts exists
      checkEnvAgainstCode(contract, env, component.mustSet, `k8s ${name}`);
    },
  );

  it('lets only the gateway pods reach the subgraphs (NetworkPolicy), on their http port', () => {
    const policies = ofKind(manifests, 'NetworkPolicy');
    const selected = (policy: Manifest, labels: Record<string, string>) =>
      matches(((spec(policy).podSelector as Yaml).matchLabels as Record<string, string>) ?? {}, labels);
    const gatewayPods = podLabels(byName('Deployment', GATEWAY.name)!);
    for (const subgraph of SUBGRAPH_COMPONENTS) {
      const pods = podLabels(byName('Deployment', subgraph.name)!);
      const guarding = policies.filter((policy) => selected(policy, pods));
      expect(guarding.length, `${subgraph.name}: a NetworkPolicy selects its pods`).toBeGreaterThan(0);
      for (const policy of guarding) {
        expect(spec(policy).policyTypes, `${policy.metadata.name}: restricts ingress`).toContain('Ingress');
        const rules = (spec(policy).ingress as Yaml[] | undefined) ?? [];
        for (const rule of rules) {
          // Each peer is a pod selector of this namespace matching the gateway's pods: no namespace, no IP block.
          for (const peer of (rule.from as Yaml[] | undefined) ?? [{}]) {
            expect(Object.keys(peer), `${policy.metadata.name}: peers`).toEqual(['podSelector']);
            const wanted = ((peer.podSelector as Yaml).matchLabels as Record<string, string>) ?? {};
            expect(matches(wanted, gatewayPods), `${policy.metadata.name}: only the gateway`).toBe(true);
            for (const other of deployments.filter((d) => d.metadata.name !== GATEWAY.name)) {
              expect(matches(wanted, podLabels(other)), `${policy.metadata.name} lets ${other.metadata.name} in`).toBe(
                false,
              );
            }
          }
          for (const port of (rule.ports as Yaml[] | undefined) ?? []) expect(port.port).toBe('http');
        }
      }
    }
    // The gateway itself stays reachable by clients.
    expect(policies.filter((policy) => selected(policy, gatewayPods))).toEqual([]);
  });

  it('gateway: reaches each subgraph through its Service', () => {
    const env = containerEnv(containers(byName('Deployment', 'gateway')!)[0]!);
    for (const subgraph of SUBGRAPH_COMPONENTS) {
      const service = byName('Service', subgraph.name)!;
      const port = (spec(service).ports as Yaml[])[0]!.port;
      expect(env[`SUBGRAPH_${subgraph.name.toUpperCase()}_URL`]).toBe(
        `http://${subgraph.name}:${String(port)}/graphql`,
      );
    }
  });

  it('migrate Job: runs the migration script once, with the database settings', () => {
    const job = byName('Job', MIGRATE.name)!;
    expect(['OnFailure', 'Never']).toContain(podSpec(job).restartPolicy);
    const [container] = containers(job);
    expect(container!.command).toEqual(['node', MIGRATE.main]);
    checkEnvAgainstCode(MIGRATE.contract, containerEnv(container!), MIGRATE.mustSet, 'k8s migrate');
  });

  it('backup CronJob: runs the backup script daily, one at a time, with the stores the services use, into its volume', async () => {
    const cronJob = byName('CronJob', BACKUP.name)!;
    expect(cronJob, 'a backup CronJob').toBeDefined();
    expect(String(spec(cronJob).schedule).split(' ')).toHaveLength(5);
    expect(spec(cronJob).concurrencyPolicy).toBe('Forbid');
    expect(['OnFailure', 'Never']).toContain(podSpec(cronJob).restartPolicy);
    expect((podSpec(cronJob).securityContext as Yaml).runAsNonRoot).toBe(true);
    const [container] = containers(cronJob);
    expect((container!.command as string[]).join(' ')).toMatch(
      new RegExp(`node ${BACKUP.main.replaceAll('.', '\\.')} --out "?/backups/`),
    );
    const mounted = ((container!.volumeMounts as Yaml[]) ?? []).find((m) => m.mountPath === '/backups');
    const volume = ((podSpec(cronJob).volumes as Yaml[]) ?? []).find((v) => v.name === mounted?.name);
    const claim = String((volume?.persistentVolumeClaim as Yaml | undefined)?.claimName);
    expect(byName('PersistentVolumeClaim', claim), `PersistentVolumeClaim ${claim}`).toBeDefined();
    const env = containerEnv(container!);
    const parsed = checkEnvAgainstCode(BACKUP.contract, env, BACKUP.mustSet, 'k8s backup');
    // The same database, bucket and document store as the services.
    const users = COMPONENTS.find((c) => c.name === 'models')!;
    const models = (await users.contract())!.parse(containerEnv(containers(byName('Deployment', users.name)!)[0]!));
    for (const name of ['DATABASE_URL', 'S3_BUCKET', 'S3_ENDPOINT', 'MONGO_URL', 'MONGO_DATABASE']) {
      expect(String(parsed[name] ?? ''), name).toBe(String(models[name] ?? ''));
    }
  });

  it('gives every process the same database, bucket, queue and secrets', async () => {
    const parsed: Record<string, Record<string, unknown>> = {};
    for (const component of COMPONENTS) {
      const contract = await component.contract();
      if (contract)
        parsed[component.name] = contract.parse(containerEnv(containers(byName('Deployment', component.name)!)[0]!));
    }
    parsed.migrate = MIGRATE.contract.parse(containerEnv(containers(byName('Job', MIGRATE.name)!)[0]!));
    expectSharedSettingsAgree(parsed, 'k8s');
  });
});

describe('the image', () => {
  const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
  const buildInclude = (JSON.parse(readFileSync(repoPath('tsconfig.build.json'), 'utf8')) as { include: string[] })
    .include;

  it.each([...COMPONENTS, MIGRATE, BACKUP, RESTORE].map((c) => [c.name, c] as const))(
    '%s: its entry point is compiled by `npm run build` from a source the Dockerfile copies',
    (name, component) => {
      if (name === 'logs' && !existsSync(repoPath(component.source))) return; // written concurrently
      expect(existsSync(repoPath(component.source)), component.source).toBe(true);
      const included = buildInclude.some((dir) => component.source.startsWith(`${dir.replace(/\/$/, '')}/`));
      expect(included, `tsconfig.build.json "include" must cover ${component.source}`).toBe(true);
      const topLevel = component.source.split('/')[0]!;
      expect(dockerfile, `the Dockerfile copies ${topLevel}/`).toMatch(new RegExp(`^COPY ${topLevel} `, 'm'));
    },
  );

  it('has the PostgreSQL client tools the backup and restore scripts run (pg_dump, pg_restore)', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/apt-get install[^\n]*\bpostgresql-client\b/);
  });

  it('runs as a non-root user, on a glibc (Debian) Node image, without dev dependencies', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\d+-(bookworm|trixie)(-slim)?$/m);
    expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
    expect(dockerfile).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    const lastUser = [...dockerfile.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
    expect(lastUser && !/^(root|0)(:|$)/.test(lastUser), 'USER').toBe(true);
  });
});
