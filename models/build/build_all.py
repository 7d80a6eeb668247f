"""Rebuild every shipped model (run fetch_sources.sh first). Maintainer-run, not CI."""
import build_magika
import build_minilm_promptinj
import build_minilm_promptinj_int8
import build_profanity_tfidf
import build_tabular

if __name__ == "__main__":
    build_minilm_promptinj.main()
    build_minilm_promptinj_int8.main()
    build_profanity_tfidf.main()
    build_magika.main()
    build_tabular.digits()
    build_tabular.breast_cancer()
