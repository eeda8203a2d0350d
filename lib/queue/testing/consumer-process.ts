// A consumer in a process of its own, for the test of a consumer that dies mid-job: it takes one
// job, says so on stdout, and never finishes it. Usage: consumer-process.ts <amqp url> <queue> <max deliveries>
import { createAmqpQueue } from '../amqp.js';

const [url, queue, maxDeliveries] = process.argv.slice(2);
if (!url || !queue || !maxDeliveries) throw new Error('usage: consumer-process.ts <amqp url> <queue> <max deliveries>');

const jobs = await createAmqpQueue({ url, queue, maxDeliveries: Number(maxDeliveries) });
await jobs.consume(
  async (job) => {
    process.stdout.write(`received ${job.id} ${job.deliveryCount}\n`);
    // Busy until killed.
    await new Promise(() => {});
  },
  { prefetch: 1 },
);
process.stdout.write('consuming\n');
