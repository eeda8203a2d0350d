import { CliCreateProjectDocument, CliProjectsDocument, type CliProjectsQuery } from '../__generated__/operations.js';
import { stringOption, type Command } from '../command.js';
import { usage } from '../errors.js';
import { table } from '../table.js';

type Project = CliProjectsQuery['projects']['nodes'][number];

export const projectCommands: Command[] = [
  {
    path: ['projects'],
    summary: 'List your projects',
    usage: 'projects',
    options: {},
    async run({ api, stdout }) {
      const projects: Project[] = [];
      for (let after: string | null = null; ;) {
        const page: CliProjectsQuery = await api.request(CliProjectsDocument, { after });
        projects.push(...page.projects.nodes);
        if (!page.projects.pageInfo.hasNextPage) break;
        after = page.projects.pageInfo.endCursor;
      }
      if (projects.length === 0) {
        stdout.write('No projects yet: ai-code projects create <name>\n');
        return;
      }
      stdout.write(
        table(
          ['ID', 'NAME', 'MODELS', 'CREATED', 'DESCRIPTION'],
          projects.map((p) => [p.id, p.name, String(p.models.nodes.length), p.createdAt, p.description ?? '']),
        ),
      );
    },
  },
  {
    path: ['projects', 'create'],
    summary: 'Create a project',
    usage: 'projects create <name> [--description TEXT]',
    options: { description: { type: 'string' } },
    async run({ api, stdout }, values, [name]) {
      if (!name) throw usage('Give the project a name: ai-code projects create <name>');
      const data = await api.request(CliCreateProjectDocument, {
        input: { name, description: stringOption(values, 'description') ?? null },
      });
      stdout.write(`Created project ${data.createProject.name}: ${data.createProject.id}\n`);
    },
  },
];
