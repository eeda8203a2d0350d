#!/usr/bin/env bash
# Validates the deployment files with the real tools (CI runs this):
#   - `docker compose config` on docker-compose.yml: refused without the secrets (they have no
#     default); given stand-in secrets, once with its built-in defaults and once with .env.example,
#     which must come out identical (.env.example documents exactly those defaults);
#   - `kustomize build` on the Kubernetes base and on every overlay.
# When `docker compose` or `kustomize` is missing, the Debian packages are fetched with apt-get into a
# cache folder and used from there, without installing anything system-wide. Debian 12 only has
# Compose v1, so both come from Debian 13 (trixie): docker-compose 2.x (the plugin binary) and
# kustomize 5.x, Go binaries that need nothing but glibc >= 2.34.
# Needs no Docker daemon: `config` only reads and validates files.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR=${AI_CODE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-code/deploy-tools}
DEBIAN_SUITE=${AI_CODE_TOOLS_SUITE:-trixie}

# Downloads one Debian package of $DEBIAN_SUITE and unpacks it under $TOOLS_DIR/<package>.
fetch_deb() {
  local package=$1 apt_dir="$TOOLS_DIR/apt"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "check-deploy: needs '$package' (Compose v2 / kustomize 5) on PATH, or apt-get to fetch Debian's" >&2
    exit 1
  fi
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$TOOLS_DIR/$package"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
    "$DEBIAN_SUITE" >"$apt_dir/sources.list"
  local apt_options=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o APT::Sandbox::User="$(id -un)" -o Debug::NoLocking=true -qq
  )
  apt-get "${apt_options[@]}" update >&2
  # apt-get checks the package against the signed archive index before keeping it.
  (cd "$apt_dir" && rm -f "${package}"_*.deb && apt-get "${apt_options[@]}" download "$package" >&2)
  dpkg-deb -x "$apt_dir/${package}"_*.deb "$TOOLS_DIR/$package"
  rm -f "$apt_dir/${package}"_*.deb
}

# `docker compose` as a command line (printed one word a line).
find_compose() {
  if docker compose version >/dev/null 2>&1; then
    printf '%s\n' docker compose
    return
  fi
  local plugin_dir="$TOOLS_DIR/docker-config/cli-plugins"
  if [ ! -x "$plugin_dir/docker-compose" ]; then
    echo "check-deploy: no 'docker compose'; fetching Debian's docker-compose ($DEBIAN_SUITE)" >&2
    fetch_deb docker-compose
    mkdir -p "$plugin_dir"
    ln -sf "$TOOLS_DIR/docker-compose/usr/libexec/docker/cli-plugins/docker-compose" "$plugin_dir/docker-compose"
  fi
  if command -v docker >/dev/null 2>&1; then
    # The docker CLI finds plugins under $DOCKER_CONFIG/cli-plugins: this is the real `docker compose`.
    printf '%s\n' env "DOCKER_CONFIG=$TOOLS_DIR/docker-config" docker compose
  else
    printf '%s\n' "$plugin_dir/docker-compose"
  fi
}

find_kustomize() {
  if command -v kustomize >/dev/null 2>&1; then
    command -v kustomize
    return
  fi
  if [ ! -x "$TOOLS_DIR/kustomize/usr/bin/kustomize" ]; then
    echo "check-deploy: no kustomize; fetching Debian's kustomize ($DEBIAN_SUITE)" >&2
    fetch_deb kustomize
  fi
  printf '%s\n' "$TOOLS_DIR/kustomize/usr/bin/kustomize"
}

mapfile -t compose < <(find_compose)
[ "${#compose[@]}" -gt 0 ] || exit 1
kustomize=$(find_kustomize)
echo "check-deploy: $("${compose[@]}" version) ; kustomize $("$kustomize" version)"

# Secrets have no default (`${NAME:?…}`): without them compose must refuse to start, naming one.
mapfile -t required < <(grep -o '\${[A-Za-z_][A-Za-z0-9_]*:?' docker-compose.yml | sed 's/^\${//; s/:?$//' | sort -u)
[ "${#required[@]}" -gt 0 ] || { echo 'check-deploy: docker-compose.yml requires no secret' >&2; exit 1; }
secrets=()
for name in "${required[@]}"; do secrets+=("$name=check-deploy-$name-0123456789abcdef0123456789"); done

# A clean environment: interpolation must not pick up this shell's variables (LOG_LEVEL, PUBLIC_URL…);
# only the stand-in secrets, which the environment gives precedence over any env file.
compose_config() { # env file, then extra arguments of `config`
  local env_file=$1
  shift
  env -i PATH="$PATH" HOME="$HOME" "${secrets[@]}" "${compose[@]}" --project-directory . -f docker-compose.yml \
    --env-file "$env_file" config "$@"
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if env -i PATH="$PATH" HOME="$HOME" "${compose[@]}" --project-directory . -f docker-compose.yml --env-file .env.example \
  config >/dev/null 2>"$scratch/refused.txt"; then
  echo 'check-deploy: docker compose config succeeded without the secrets' >&2
  exit 1
fi
grep -q 'set .* in .env' "$scratch/refused.txt" || { cat "$scratch/refused.txt" >&2; exit 1; }
compose_config /dev/null >"$scratch/defaults.yml"
compose_config .env.example >"$scratch/env-example.yml"
if ! diff -u "$scratch/defaults.yml" "$scratch/env-example.yml"; then
  echo 'check-deploy: .env.example and the defaults in docker-compose.yml disagree (diff above)' >&2
  exit 1
fi
echo "check-deploy: docker compose config: ok ($(compose_config /dev/null --services | wc -l) services; refused without ${#required[@]} secrets)"

for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  "$kustomize" build "$dir" >"$scratch/k8s.yml"
  echo "check-deploy: kustomize build ${dir%/}: ok ($(grep -c '^kind:' "$scratch/k8s.yml") resources)"
done
