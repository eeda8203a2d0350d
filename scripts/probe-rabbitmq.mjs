// Exit 0 when RabbitMQ serves a quorum queue end to end (declare, publish, get, delete), 1 otherwise.
// A broker whose quorum-queue subsystem broke (seen after stop_app/start_app) still accepts
// connections but fails every quorum queue, which a plain ping does not notice. Used by .ci/run.
import amqp from 'amqplib';

const url = process.argv[2] ?? 'amqp://guest:guest@127.0.0.1:5672';
const timer = setTimeout(() => process.exit(1), 15_000);
try {
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  const queue = `ci-probe-${process.pid}-${Date.now()}`;
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await new Promise((resolve, reject) =>
    channel.sendToQueue(queue, Buffer.from('probe'), { persistent: true }, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  const message = await channel.get(queue);
  await channel.deleteQueue(queue);
  await connection.close();
  clearTimeout(timer);
  process.exit(message ? 0 : 1);
} catch {
  process.exit(1);
}
