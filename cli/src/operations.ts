/**
 * Every operation the CLI sends, each a whole named document sent exactly as written here.
 * `npm run persisted-operations` registers them in the gateway's manifest (operations/manifest.json),
 * so a gateway in safelist mode serves the CLI: keep each one a plain constant, and run that script
 * after changing one (`npm run persisted-operations:check` fails while the manifest is stale).
 */

// What the CLI keeps of a login, a signup or a refresh (fragments are plain constants too).
const SESSION = /* GraphQL */ `
  fragment CliSession on AuthPayload {
    accessToken
    refreshToken
    expiresIn
    user {
      id
      email
      role
    }
  }
`;

export const LOGIN = /* GraphQL */ `
  mutation CliLogin($input: LoginInput!) {
    login(input: $input) {
      ...CliSession
    }
  }
  ${SESSION}
`;

export const SIGNUP = /* GraphQL */ `
  mutation CliSignup($input: SignupInput!) {
    signup(input: $input) {
      ...CliSession
    }
  }
  ${SESSION}
`;

export const REFRESH_TOKEN = /* GraphQL */ `
  mutation CliRefreshToken($token: String!) {
    refreshToken(refreshToken: $token) {
      ...CliSession
    }
  }
  ${SESSION}
`;

export const LOGOUT = /* GraphQL */ `
  mutation CliLogout($token: String!) {
    logout(refreshToken: $token)
  }
`;

export const PROJECTS = /* GraphQL */ `
  query CliProjects($after: String) {
    projects(first: 100, after: $after) {
      nodes {
        id
        name
        description
        createdAt
        models(first: 100) {
          nodes {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export const CREATE_PROJECT = /* GraphQL */ `
  mutation CliCreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
      name
    }
  }
`;

export const CREATE_MODEL_UPLOAD = /* GraphQL */ `
  mutation CliCreateModelUpload($input: CreateModelUploadInput!) {
    createModelUpload(input: $input) {
      uploadUrl
      expiresAt
      model {
        id
      }
    }
  }
`;

export const COMPLETE_MODEL_UPLOAD = /* GraphQL */ `
  mutation CliCompleteModelUpload($id: ID!) {
    completeModelUpload(modelId: $id) {
      id
      version
      status
      sha256
      sizeBytes
      error
      inputs {
        name
        type
        shape
      }
      outputs {
        name
        type
        shape
      }
    }
  }
`;

export const PREDICT = /* GraphQL */ `
  mutation CliPredict($model: ID!, $inputs: JSON!) {
    predict(modelId: $model, inputs: $inputs) {
      outputs
      durationMs
      request {
        id
      }
    }
  }
`;

export const START_PREDICTION = /* GraphQL */ `
  mutation CliStartPrediction($input: StartPredictionInput!) {
    startPrediction(input: $input) {
      id
      status
      itemsTotal
    }
  }
`;

export const PREDICTION_PROGRESS = /* GraphQL */ `
  subscription CliPredictionProgress($id: ID!) {
    predictionProgress(id: $id) {
      id
      status
      progress
      itemsDone
      itemsTotal
      error
      model {
        version
        project {
          name
        }
      }
    }
  }
`;

// The fields `logs` prints of an entry, live or recent.
const LOG_ENTRY = /* GraphQL */ `
  fragment CliLogEntry on LogEntry {
    id
    level
    message
    service
    metadata
    loggedAt
  }
`;

export const LOG_TAIL = /* GraphQL */ `
  subscription CliLogTail($filter: LogFilter) {
    logTail(filter: $filter) {
      ...CliLogEntry
    }
  }
  ${LOG_ENTRY}
`;

export const RECENT_LOGS = /* GraphQL */ `
  query CliRecentLogs($filter: LogFilter, $first: Int) {
    logs(filter: $filter, first: $first) {
      nodes {
        ...CliLogEntry
      }
    }
  }
  ${LOG_ENTRY}
`;
