"""Function words left out of keywords and lexical features: English (scikit-learn's list) and Russian.

Russian: with the multilingual model a narrative can hold Russian articles (the demo's
moskovsky-telegraf), and their function words, rare in an English-heavy collection, would
otherwise top its c-TF-IDF keywords ("не / где / под"). Written for this project from common
Russian grammar words (pronouns, prepositions, conjunctions, particles, forms of "to be", reporting
verbs like English "said"); Cyrillic only, so no English word is touched. Latin-script languages
are not listed: their function words include English content words ("war", "die").
"""
from __future__ import annotations

RUSSIAN = frozenset("""
а без более бы был была были было быть в вам вас весь во вот все всё всего всей всем всеми всех вся вы
где да даже для до его ее её ей ему если есть еще ещё же за здесь и из или им ими их к как какая
какие какой каких когда кого кто куда ли лишь между меня мне мной мы на над надо наш наша наше наши
не него нее неё ней нельзя нем нём ни них ничего но ну о об обо однако он она они оно от ото очень
по под после потом потому почему при про раз с сам сама сами само свое своё свой своей своего
своих свои своим свою себе себя сейчас со собой так также такие такой там тебе тебя то тогда того
тоже той только том тот ту тут ты у уж уже хотя чего чем через что чтобы чтоб чье чьё эта эти этим
этих это этого этой этом этот эту я
который которая которое которые которого которой котором которым которых которую
будет будут будем будешь буду является являются стал стала стали стало может могут можно
сказал сказала сказали заявил заявила заявили сообщил сообщила сообщили говорит говорят словам
также кроме около против среди ради вместо вокруг перед затем поэтому именно ведь вновь снова
год года году лет сегодня вчера
""".split())

# English: the stop list scikit-learn ships (sklearn.feature_extraction.text.ENGLISH_STOP_WORDS, from the
# Glasgow Information Retrieval Group; BSD-3-Clause), kept here so the pipeline does not import
# scikit-learn (~2 CPU-s per process start) for a word list; tests/test_narratives_algo.py checks it
# is the same.
ENGLISH = frozenset("""
a about above across after afterwards again against all almost alone along already also although
always am among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere
are around as at back be became because become becomes becoming been before beforehand behind
being below beside besides between beyond bill both bottom but by call can cannot cant co con
could couldnt cry de describe detail do done down due during each eg eight either eleven else
elsewhere empty enough etc even ever every everyone everything everywhere except few fifteen fifty
fill find fire first five for former formerly forty found four from front full further get give go
had has hasnt have he hence her here hereafter hereby herein hereupon hers herself him himself his
how however hundred i ie if in inc indeed interest into is it its itself keep last latter latterly
least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must
my myself name namely neither never nevertheless next nine no nobody none noone nor not nothing
now nowhere of off often on once one only onto or other others otherwise our ours ourselves out
over own part per perhaps please put rather re same see seem seemed seeming seems serious several
she should show side since sincere six sixty so some somehow someone something sometime sometimes
somewhere still such system take ten than that the their them themselves then thence there
thereafter thereby therefore therein thereupon these they thick thin third this those though three
through throughout thru thus to together too top toward towards twelve twenty two un under until
up upon us very via was we well were what whatever when whence whenever where whereafter whereas
whereby wherein whereupon wherever whether which while whither who whoever whole whom whose why
will with within without would yet you your yours yourself yourselves
""".split())
