# shellcheck shell=bash
# A stand-in for nixpkgs' installShellFiles setup hook, sourced by builder.sh as stdenv sources an
# input's nix-support/setup-hook. It does what that hook's documentation says of the forms
# package.nix uses, written here from that description:
#   installManPage PAGE.N…            → $out/share/man/manN/PAGE.N (the section from the suffix)
#   installShellCompletion [--cmd NAME] [--bash|--zsh|--fish] [--name FILE] PATH…
#                                     → $out/share/bash-completion/completions/NAME.bash,
#                                       $out/share/zsh/site-functions/_NAME,
#                                       $out/share/fish/vendor_completions.d/NAME.fish
# A PATH may be a pipe (`<(command)`), which then needs a shell flag and --cmd or --name. Anything
# else it is given is an error, so that package.nix cannot rely on a form this stand-in does not
# check.

installManPage() {
  local page name section
  for page in "$@"; do
    name=${page##*/}
    section=${name##*.}
    if [ -z "$page" ] || [ "$section" = "$name" ] || [[ ! $section =~ ^[0-9] ]]; then
      echo "installManPage: '$page' has no man section suffix" >&2
      return 1
    fi
    install -D -m 644 -T "$page" "$out/share/man/man${section:0:1}/$name" || return 1
  done
}

installShellCompletion() {
  local shell="" cmd="" name="" arg file dir
  while [ $# -gt 0 ]; do
    arg=$1
    shift
    case $arg in
    --bash | --zsh | --fish)
      shell=${arg#--}
      continue
      ;;
    --cmd)
      cmd=${1:?installShellCompletion: --cmd needs a name}
      shift
      continue
      ;;
    --name)
      name=${1:?installShellCompletion: --name needs a name}
      shift
      continue
      ;;
    --*)
      echo "installShellCompletion: the stand-in does not know $arg" >&2
      return 1
      ;;
    esac
    if [ -z "$shell" ]; then
      case $arg in
      *.bash) shell=bash ;;
      *.zsh) shell=zsh ;;
      *.fish) shell=fish ;;
      *)
        echo "installShellCompletion: no shell for $arg (give --bash, --zsh or --fish)" >&2
        return 1
        ;;
      esac
    fi
    if [ -n "$name" ]; then
      file=$name
    elif [ -n "$cmd" ]; then
      case $shell in
      zsh) file=_$cmd ;;
      *) file=$cmd.$shell ;;
      esac
    elif [ -p "$arg" ]; then
      echo "installShellCompletion: a pipe needs --cmd or --name" >&2
      return 1
    else
      file=${arg##*/}
      [ "$shell" != zsh ] || file=_${file%.zsh}
    fi
    case $shell in
    bash) dir=$out/share/bash-completion/completions ;;
    zsh) dir=$out/share/zsh/site-functions ;;
    fish) dir=$out/share/fish/vendor_completions.d ;;
    esac
    mkdir -p "$dir" && cat "$arg" >"$dir/$file" || return 1
    if [ ! -s "$dir/$file" ]; then
      echo "installShellCompletion: $dir/$file is empty" >&2
      return 1
    fi
    name=""
  done
}
