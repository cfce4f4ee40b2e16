// Runs one scenario against BatchPortal with the AWS SDK for JavaScript v3 and prints its results as one JSON object
// on stdout, for tests/Api.Tests to assert on. Nothing is asserted here: the C# test decides.
//
//   BATCHPORTAL_ENDPOINT=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//     node batch-scenario.mjs <scenario> '<json arguments>'
//
// Scenarios: resources, jobs, logs, live-log, signed. Errors are reported as { ok: false, name, status, message },
// i.e. err.name, err.$metadata.httpStatusCode and err.message as the SDK parsed them.
import {
  BatchClient,
  CancelJobCommand,
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DeleteComputeEnvironmentCommand,
  DeleteJobQueueCommand,
  DeregisterJobDefinitionCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  DescribeJobsCommand,
  GetJobQueueSnapshotCommand,
  ListJobsCommand,
  ListTagsForResourceCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  TagResourceCommand,
  TerminateJobCommand,
  UntagResourceCommand,
  UpdateComputeEnvironmentCommand,
  UpdateJobQueueCommand,
} from "@aws-sdk/client-batch";
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";

const [scenario, rawArgs] = process.argv.slice(2);
const args = JSON.parse(rawArgs ?? "{}");
const endpoint = args.endpoint ?? process.env.BATCHPORTAL_ENDPOINT;
if (!scenario || !endpoint) {
  console.error("usage: BATCHPORTAL_ENDPOINT=http://127.0.0.1:PORT node batch-scenario.mjs <scenario> '<json>'");
  process.exit(2);
}

const config = {
  endpoint,
  region: process.env.AWS_REGION ?? "us-east-1",
  credentials: {
    accessKeyId: args.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID ?? "test",
    secretAccessKey: args.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY ?? "test",
  },
  // A 5xx must surface, not be retried away.
  maxAttempts: 1,
};
const batch = new BatchClient(config);
const logs = new CloudWatchLogsClient(config);

const image = args.image ?? "batchportal/busybox:latest";
const prefix = args.prefix ?? `js-${Date.now()}`;
// Only against a hung engine; the tests assert on states, never on how long they took.
const deadlineMs = 60_000;
const pollMs = 150;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs an SDK call; returns { ok: true, value } or the error as the SDK parsed it. */
async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, name: err.name, status: err.$metadata?.httpStatusCode ?? null, message: err.message };
  }
}

/** Like the response, without the SDK's $metadata. */
function body(response) {
  const { $metadata, ...rest } = response;
  return rest;
}

async function send(client, command) {
  return body(await client.send(command));
}

async function describeJob(jobId) {
  const { jobs } = await batch.send(new DescribeJobsCommand({ jobs: [jobId] }));
  return jobs[0];
}

async function waitFor(jobId, statuses) {
  const until = Date.now() + deadlineMs;
  let job;
  while (Date.now() < until) {
    job = await describeJob(jobId);
    if (job && statuses.includes(job.status)) return job;
    await sleep(pollMs);
  }
  throw new Error(`job ${jobId} did not become ${statuses.join("|")} in time; last seen ${JSON.stringify(job)}`);
}

async function createStage({ maxvCpus = 64, state = "ENABLED", command = ["sh", "-c", "echo hello"] } = {}) {
  const ce = await send(batch, new CreateComputeEnvironmentCommand({
    computeEnvironmentName: `${prefix}-ce`,
    type: "MANAGED",
    state,
    computeResources: { type: "EC2", maxvCpus },
  }));
  const queue = await send(batch, new CreateJobQueueCommand({
    jobQueueName: `${prefix}-queue`,
    priority: 1,
    computeEnvironmentOrder: [{ order: 1, computeEnvironment: ce.computeEnvironmentName }],
  }));
  const definition = await send(batch, new RegisterJobDefinitionCommand({
    jobDefinitionName: `${prefix}-def`,
    type: "container",
    parameters: { greeting: "hello" },
    containerProperties: {
      image,
      command,
      resourceRequirements: [{ type: "VCPU", value: "1" }, { type: "MEMORY", value: "64" }],
    },
  }));
  return { ce, queue, definition };
}

const scenarios = {
  /** Compute environments, job queues and job definitions: create, describe, update, delete, and their errors. */
  async resources() {
    const r = {};
    r.createManaged = await send(batch, new CreateComputeEnvironmentCommand({
      computeEnvironmentName: `${prefix}-managed`,
      type: "MANAGED",
      computeResources: { type: "EC2", minvCpus: 0, maxvCpus: 8 },
      tags: { team: "js" },
    }));
    r.createUnmanaged = await send(batch, new CreateComputeEnvironmentCommand({
      computeEnvironmentName: `${prefix}-unmanaged`,
      type: "UNMANAGED",
      unmanagedvCpus: 4,
    }));
    r.describeByName = await send(batch, new DescribeComputeEnvironmentsCommand({ computeEnvironments: [`${prefix}-managed`] }));
    r.describeByArn = await send(batch, new DescribeComputeEnvironmentsCommand({ computeEnvironments: [r.createUnmanaged.computeEnvironmentArn] }));

    // Every environment, one per page.
    r.pages = [];
    let nextToken;
    do {
      const page = await send(batch, new DescribeComputeEnvironmentsCommand({ maxResults: 1, nextToken }));
      r.pages.push({ names: page.computeEnvironments.map((c) => c.computeEnvironmentName), nextToken: page.nextToken ?? null });
      nextToken = page.nextToken;
    } while (nextToken && r.pages.length < 1000);

    r.updateMaxvCpus = await send(batch, new UpdateComputeEnvironmentCommand({
      computeEnvironment: `${prefix}-managed`,
      computeResources: { maxvCpus: 16 },
    }));
    r.disableUnmanaged = await send(batch, new UpdateComputeEnvironmentCommand({
      computeEnvironment: r.createUnmanaged.computeEnvironmentArn,
      state: "DISABLED",
    }));
    r.afterUpdate = await send(batch, new DescribeComputeEnvironmentsCommand({
      computeEnvironments: [`${prefix}-managed`, `${prefix}-unmanaged`],
    }));

    r.createQueue = await send(batch, new CreateJobQueueCommand({
      jobQueueName: `${prefix}-queue`,
      priority: 1,
      computeEnvironmentOrder: [
        { order: 1, computeEnvironment: `${prefix}-managed` },
        { order: 2, computeEnvironment: r.createUnmanaged.computeEnvironmentArn },
      ],
    }));
    r.describeQueue = await send(batch, new DescribeJobQueuesCommand({ jobQueues: [`${prefix}-queue`] }));
    r.deleteUsedEnvironment = await attempt(() => batch.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: `${prefix}-unmanaged` })));
    r.deleteEnabledQueue = await attempt(() => batch.send(new DeleteJobQueueCommand({ jobQueue: `${prefix}-queue` })));
    r.updateQueue = await send(batch, new UpdateJobQueueCommand({ jobQueue: r.createQueue.jobQueueArn, priority: 7, state: "DISABLED" }));
    r.afterQueueUpdate = await send(batch, new DescribeJobQueuesCommand({ jobQueues: [r.createQueue.jobQueueArn] }));
    r.deleteQueue = await attempt(() => send(batch, new DeleteJobQueueCommand({ jobQueue: `${prefix}-queue` })));
    r.afterQueueDelete = await send(batch, new DescribeJobQueuesCommand({ jobQueues: [`${prefix}-queue`] }));

    r.deleteEnabledEnvironment = await attempt(() => batch.send(new DeleteComputeEnvironmentCommand({ computeEnvironment: `${prefix}-managed` })));
    await batch.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: `${prefix}-managed`, state: "DISABLED" }));
    r.deleteManaged = await attempt(() => send(batch, new DeleteComputeEnvironmentCommand({ computeEnvironment: `${prefix}-managed` })));
    r.deleteUnmanaged = await attempt(() => send(batch, new DeleteComputeEnvironmentCommand({ computeEnvironment: r.createUnmanaged.computeEnvironmentArn })));
    r.afterDelete = await send(batch, new DescribeComputeEnvironmentsCommand({
      computeEnvironments: [`${prefix}-managed`, `${prefix}-unmanaged`],
    }));

    const definition = {
      jobDefinitionName: `${prefix}-def`,
      type: "container",
      containerProperties: { image, command: ["echo", "hi"], resourceRequirements: [{ type: "VCPU", value: "1" }, { type: "MEMORY", value: "64" }] },
    };
    r.register1 = await send(batch, new RegisterJobDefinitionCommand(definition));
    r.register2 = await send(batch, new RegisterJobDefinitionCommand(definition));
    r.describeDefinitionsByName = await send(batch, new DescribeJobDefinitionsCommand({ jobDefinitionName: `${prefix}-def` }));
    r.describeDefinitionByRevision = await send(batch, new DescribeJobDefinitionsCommand({ jobDefinitions: [`${prefix}-def:1`] }));
    r.deregister = await send(batch, new DeregisterJobDefinitionCommand({ jobDefinition: `${prefix}-def:1` }));
    r.describeActive = await send(batch, new DescribeJobDefinitionsCommand({ jobDefinitionName: `${prefix}-def`, status: "ACTIVE" }));
    r.describeInactive = await send(batch, new DescribeJobDefinitionsCommand({ jobDefinitionName: `${prefix}-def`, status: "INACTIVE" }));
    r.register3 = await send(batch, new RegisterJobDefinitionCommand(definition));

    r.errors = {
      minAboveMax: await attempt(() => batch.send(new CreateComputeEnvironmentCommand({
        computeEnvironmentName: `${prefix}-bad`,
        type: "MANAGED",
        computeResources: { type: "EC2", minvCpus: 8, maxvCpus: 2 },
      }))),
      badName: await attempt(() => batch.send(new CreateJobQueueCommand({
        jobQueueName: "not a valid name!",
        priority: 1,
        computeEnvironmentOrder: [],
      }))),
      missingQueue: await attempt(() => batch.send(new SubmitJobCommand({
        jobName: "orphan",
        jobQueue: `${prefix}-no-such-queue`,
        jobDefinition: `${prefix}-def`,
      }))),
      tooManyJobs: await attempt(() => batch.send(new DescribeJobsCommand({
        jobs: Array.from({ length: 101 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`),
      }))),
    };
    return r;
  },

  /** Submitting by name, name:revision and ARN; waiting; ListJobs; cancel; terminate; the queue snapshot; tags. */
  async jobs() {
    const r = {};
    const stage = await createStage({ command: ["sh", "-c", "echo Ref::greeting"] });
    const revision2 = await send(batch, new RegisterJobDefinitionCommand({
      jobDefinitionName: `${prefix}-def`,
      type: "container",
      parameters: { greeting: "hello" },
      containerProperties: {
        image,
        command: ["sh", "-c", "echo Ref::greeting"],
        resourceRequirements: [{ type: "VCPU", value: "1" }, { type: "MEMORY", value: "64" }],
      },
    }));
    r.stage = { ...stage, revision2 };

    const submitted = {};
    submitted.byName = await send(batch, new SubmitJobCommand({
      jobName: `${prefix}-by-name`,
      jobQueue: `${prefix}-queue`,
      jobDefinition: `${prefix}-def`,
      parameters: { greeting: "from-parameters" },
      containerOverrides: {
        command: ["sh", "-c", "echo Ref::greeting $EXTRA"],
        environment: [{ name: "EXTRA", value: "from-environment" }],
      },
    }));
    submitted.byRevision = await send(batch, new SubmitJobCommand({
      jobName: `${prefix}-by-revision`,
      jobQueue: stage.queue.jobQueueArn,
      jobDefinition: `${prefix}-def:1`,
    }));
    submitted.byArn = await send(batch, new SubmitJobCommand({
      jobName: `${prefix}-by-arn`,
      jobQueue: stage.queue.jobQueueArn,
      jobDefinition: revision2.jobDefinitionArn,
      containerOverrides: { command: ["sh", "-c", "exit 3"] },
    }));
    r.submitted = submitted;

    const ids = Object.values(submitted).map((s) => s.jobId);
    for (const id of ids) await waitFor(id, ["SUCCEEDED", "FAILED"]);
    r.described = await send(batch, new DescribeJobsCommand({ jobs: [...ids, "00000000-0000-0000-0000-000000000000"] }));

    // All finished jobs of the queue, two per page.
    r.listPages = [];
    let nextToken;
    do {
      const page = await send(batch, new ListJobsCommand({ jobQueue: `${prefix}-queue`, filters: [{ name: "JOB_NAME", values: [`${prefix}*`] }], maxResults: 2, nextToken }));
      r.listPages.push(page.jobSummaryList.map((j) => j.jobId));
      nextToken = page.nextToken;
    } while (nextToken && r.listPages.length < 100);
    r.listSucceeded = await send(batch, new ListJobsCommand({ jobQueue: stage.queue.jobQueueArn, jobStatus: "SUCCEEDED" }));
    r.listByDefinition = await send(batch, new ListJobsCommand({ jobQueue: `${prefix}-queue`, filters: [{ name: "JOB_DEFINITION", values: [revision2.jobDefinitionArn] }] }));

    // RUNNING: a sleeping job, seen by the default ListJobs, then terminated.
    const sleeper = await send(batch, new SubmitJobCommand({
      jobName: `${prefix}-sleeper`,
      jobQueue: `${prefix}-queue`,
      jobDefinition: `${prefix}-def`,
      containerOverrides: { command: ["sleep", "30"] },
    }));
    await waitFor(sleeper.jobId, ["RUNNING"]);
    r.listDefault = await send(batch, new ListJobsCommand({ jobQueue: `${prefix}-queue` }));
    r.sleeperId = sleeper.jobId;
    r.terminate = await send(batch, new TerminateJobCommand({ jobId: sleeper.jobId, reason: "Terminated by the JS scenario" }));
    r.terminated = await waitFor(sleeper.jobId, ["SUCCEEDED", "FAILED"]);

    // RUNNABLE: a queue whose only environment is disabled keeps its jobs waiting, in order.
    await send(batch, new CreateComputeEnvironmentCommand({
      computeEnvironmentName: `${prefix}-parked-ce`,
      type: "MANAGED",
      state: "DISABLED",
      computeResources: { type: "EC2", maxvCpus: 4 },
    }));
    const parked = await send(batch, new CreateJobQueueCommand({
      jobQueueName: `${prefix}-parked`,
      priority: 1,
      computeEnvironmentOrder: [{ order: 1, computeEnvironment: `${prefix}-parked-ce` }],
    }));
    const waiting = [];
    for (let i = 0; i < 3; i++) {
      waiting.push((await send(batch, new SubmitJobCommand({ jobName: `${prefix}-parked-${i}`, jobQueue: parked.jobQueueArn, jobDefinition: `${prefix}-def` }))).jobId);
    }
    for (const id of waiting) await waitFor(id, ["RUNNABLE"]);
    r.waiting = waiting;
    r.snapshot = await send(batch, new GetJobQueueSnapshotCommand({ jobQueue: `${prefix}-parked` }));
    r.cancel = await send(batch, new CancelJobCommand({ jobId: waiting[0], reason: "Cancelled by the JS scenario" }));
    r.cancelled = await waitFor(waiting[0], ["FAILED"]);

    // Tags on a job definition revision, a job, a queue and an environment.
    r.tags = {};
    for (const [what, arn] of [
      ["jobDefinition", revision2.jobDefinitionArn],
      ["job", submitted.byName.jobArn],
      ["queue", stage.queue.jobQueueArn],
      ["computeEnvironment", stage.ce.computeEnvironmentArn],
    ]) {
      await batch.send(new TagResourceCommand({ resourceArn: arn, tags: { owner: "js", stage: "test" } }));
      await batch.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["stage"] }));
      r.tags[what] = (await batch.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags;
    }

    r.errors = {
      cancelWithoutReason: await attempt(() => batch.send(new CancelJobCommand({ jobId: waiting[1], reason: "" }))),
      unknownDefinition: await attempt(() => batch.send(new SubmitJobCommand({ jobName: "x", jobQueue: `${prefix}-queue`, jobDefinition: `${prefix}-nope` }))),
    };
    return r;
  },

  /** A finished job's log read page by page, its stream described, and its lines filtered. */
  async logs() {
    const r = {};
    const lines = args.lines ?? 25;
    const stage = await createStage({ command: ["sh", "-c", `i=1; while [ $i -le ${lines} ]; do echo line-$i; i=$((i+1)); done`] });
    const job = await send(batch, new SubmitJobCommand({ jobName: `${prefix}-logs`, jobQueue: stage.queue.jobQueueArn, jobDefinition: `${prefix}-def` }));
    const done = await waitFor(job.jobId, ["SUCCEEDED", "FAILED"]);
    r.job = done;
    const logStreamName = done.attempts?.[0]?.container?.logStreamName ?? done.container?.logStreamName;
    r.logStreamName = logStreamName;

    // Forward from the head, 10 per page, until the token stops changing (what the SDK paginators do).
    r.pages = [];
    let token;
    for (let i = 0; i < 100; i++) {
      const page = await send(logs, new GetLogEventsCommand({ logGroupName: "/aws/batch/job", logStreamName, startFromHead: true, limit: 10, nextToken: token }));
      r.pages.push(page.events.map((e) => e.message));
      if (page.nextForwardToken === token) break;
      token = page.nextForwardToken;
    }
    r.firstEvent = (await send(logs, new GetLogEventsCommand({ logGroupName: "/aws/batch/job", logStreamName, startFromHead: true, limit: 1 }))).events[0];
    r.streams = await send(logs, new DescribeLogStreamsCommand({ logGroupName: "/aws/batch/job", logStreamNamePrefix: `${prefix}-def/` }));
    r.filtered = await send(logs, new FilterLogEventsCommand({ logGroupName: "/aws/batch/job", logStreamNames: [logStreamName], filterPattern: "?line-3 ?line-7" }));
    r.missingStream = await attempt(() => logs.send(new GetLogEventsCommand({ logGroupName: "/aws/batch/job", logStreamName: `${prefix}-def/default/nope` })));
    return r;
  },

  /** The log of a running job: the first line is readable before the job finishes. */
  async "live-log"() {
    const r = {};
    const stage = await createStage({ command: ["sh", "-c", "echo first; sleep 5; echo second"] });
    const job = await send(batch, new SubmitJobCommand({ jobName: `${prefix}-live`, jobQueue: stage.queue.jobQueueArn, jobDefinition: `${prefix}-def` }));
    const running = await waitFor(job.jobId, ["RUNNING", "SUCCEEDED", "FAILED"]);
    r.statusWhenRunning = running.status;
    const logStreamName = running.container?.logStreamName;
    r.logStreamName = logStreamName ?? null;

    const until = Date.now() + deadlineMs;
    let seen = [];
    while (Date.now() < until) {
      const read = await attempt(() => logs.send(new GetLogEventsCommand({ logGroupName: "/aws/batch/job", logStreamName, startFromHead: true })));
      if (read.ok) {
        seen = read.value.events.map((e) => e.message);
        if (seen.includes("first")) break;
      }
      await sleep(pollMs);
    }
    r.linesWhileRunning = seen;
    r.statusAfterFirstLine = (await describeJob(job.jobId)).status;
    r.final = await waitFor(job.jobId, ["SUCCEEDED", "FAILED"]);
    r.linesAtEnd = (await send(logs, new GetLogEventsCommand({ logGroupName: "/aws/batch/job", logStreamName, startFromHead: true }))).events.map((e) => e.message);
    return r;
  },

  /** One signed call with the given credentials, for the SigV4 tests. */
  async signed() {
    return {
      describeJobQueues: await attempt(() => send(batch, new DescribeJobQueuesCommand({}))),
      getLogEvents: await attempt(() => send(logs, new GetLogEventsCommand({ logGroupName: "/aws/batch/job", logStreamName: "none/default/none" }))),
      // A change: the role decides before the request is looked at (the queue need not exist).
      submitJob: await attempt(() => send(batch, new SubmitJobCommand({ jobName: "signed", jobQueue: "no-such-queue", jobDefinition: "no-such-definition" }))),
    };
  },
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario '${scenario}'; known: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}

try {
  process.stdout.write(JSON.stringify(await run()) + "\n");
} catch (err) {
  console.error(`scenario ${scenario} failed: ${err.name}: ${err.message}`);
  if (err.$metadata) console.error(`HTTP ${err.$metadata.httpStatusCode}`);
  console.error(err.stack);
  process.exit(1);
}
