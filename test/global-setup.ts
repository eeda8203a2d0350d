import { prepareTemplateDatabase } from './helpers/database.js';

export default async function globalSetup(): Promise<void> {
  await prepareTemplateDatabase();
}
