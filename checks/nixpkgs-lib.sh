# Sourced by the checks that evaluate nixos/module.nix: finds nixpkgs' lib without a Nix that builds.
# Sets NIXPKGS_LIB to a directory holding lib/default.nix, from (first found):
#   $NIXPKGS_LIB                      (a nixpkgs or nix-community/nixpkgs.lib checkout)
#   ${XDG_CACHE_HOME:-$HOME/.cache}/lblab/nixpkgs.lib
# or returns 1 with the reason in $nixpkgs_lib_missing.
find_nixpkgs_lib() {
  local cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lblab/nixpkgs.lib"
  if [ -n "${NIXPKGS_LIB:-}" ]; then
    if [ -f "$NIXPKGS_LIB/lib/default.nix" ]; then
      return 0
    fi
    nixpkgs_lib_missing="NIXPKGS_LIB=$NIXPKGS_LIB has no lib/default.nix"
    return 1
  fi
  if [ -f "$cache/lib/default.nix" ]; then
    NIXPKGS_LIB=$cache
    return 0
  fi
  nixpkgs_lib_missing="no nixpkgs lib: set NIXPKGS_LIB to a nixpkgs.lib checkout, or put one at $cache"
  return 1
}
