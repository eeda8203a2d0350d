/** What a new IDE tab starts with: a walk through the API, runnable operation by operation. */
export const DEFAULT_QUERY = `# Welcome to the ai-code GraphQL IDE.
#
# Run an operation with the ▶ button (or Ctrl-Enter
# with the cursor inside it), from top to bottom:
#
# 1. Signup (or Login) and copy the accessToken.
# 2. Open "Headers" below and paste:
#      { "Authorization": "Bearer <accessToken>" }
#    Every request sends it, and subscriptions send
#    it in the WebSocket's connection_init. Tokens
#    live 15 minutes; RefreshToken gives a new pair
#    (each refresh token works once).
# 3. Me, CreateProject and Projects: your account
#    and projects.
# 4. Upload a model (the CLI does it: ai-code models
#    upload), run StartPrediction, then watch it
#    with PredictionProgress: put its id in
#    "Variables" as { "id": "…" }.
# 5. LogTail streams log entries as they are written.
#
# "Docs" (top left) shows the whole schema.

mutation Signup {
  signup(input: { email: "you@example.com", password: "correct horse battery" }) {
    accessToken
    refreshToken
    expiresIn
    user { id email role }
  }
}

mutation Login {
  login(input: { email: "you@example.com", password: "correct horse battery" }) {
    accessToken
    refreshToken
    expiresIn
  }
}

mutation RefreshToken($refreshToken: String!) {
  refreshToken(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }
}

query Me {
  me { id email role createdAt }
}

mutation CreateProject {
  createProject(input: { name: "vision", description: "image models" }) { id name createdAt }
}

query Projects {
  projects(first: 10) {
    nodes {
      id
      name
      models(first: 5) { nodes { id version status sizeBytes inputs { name type shape } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}

mutation StartPrediction($modelId: ID!, $items: [JSON!]!) {
  startPrediction(input: { modelId: $modelId, items: $items }) { id status itemsTotal }
}

subscription PredictionProgress($id: ID!) {
  predictionProgress(id: $id) {
    id
    status
    progress
    itemsDone
    itemsTotal
    error
    model { version project { name } }
  }
}

subscription LogTail {
  logTail(filter: { levels: [INFO, WARN, ERROR] }) { loggedAt level service message }
}
`;
