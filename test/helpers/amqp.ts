import amqp from 'amqplib';
import { testEnv } from './env.js';

/** Deletes a job queue with its dead-letter queue and exchange, through a connection of its own. */
export async function deleteQueueTopology(queue: string): Promise<void> {
  const connection = await amqp.connect(testEnv.amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteQueue(`${queue}.dead`);
    await channel.deleteExchange(`${queue}.dlx`);
  } finally {
    await connection.close();
  }
}
