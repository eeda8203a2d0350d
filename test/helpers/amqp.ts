import amqp from 'amqplib';
import { testEnv } from './env.js';

/**
 * Deletes a job queue with its dead-letter queue and exchange, through a connection of its own;
 * and its webhook attempts' queue (`<queue>-webhooks`), which workers and platforms create beside it.
 */
export async function deleteQueueTopology(queue: string): Promise<void> {
  const connection = await amqp.connect(testEnv.amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const name of [queue, `${queue}-webhooks`]) {
      await channel.deleteQueue(name);
      await channel.deleteQueue(`${name}.dead`);
      await channel.deleteExchange(`${name}.dlx`);
    }
  } finally {
    await connection.close();
  }
}
